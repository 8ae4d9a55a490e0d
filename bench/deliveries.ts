/**
 * `npm run bench:deliveries`: what email delivery costs, both modes.
 * 1. Throughput: BENCH_DELIVERIES (default 10,000) travellers, each with an email address and one
 *    high alert, seeded with SQL; `notify.deliver` jobs queued as writes queue them (a job per
 *    alert) and as a sweep page does (batches of DELIVERY_BATCH); timed until the local SMTP peer
 *    (smtp-server on loopback, counting what it accepts) has every email and every delivery row
 *    says `sent`. Worker at concurrency 8 in this process.
 * 2. The write→socket path with email on: BENCH_READINGS (default 300) readings alternating 8 %
 *    (a high fuel alert, emailed) and 90 %, each timed from its POST until its alert.created /
 *    alert.resolved is on the socket, with SMTP_URL unset and then set (the traveller has an
 *    address). Prints figures and conditions; asserts nothing.
 */
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { cpus, loadavg } from 'node:os'
import { sql } from 'kysely'
import { SMTPServer } from 'smtp-server'
import { buildApiApp } from '../src/app/roles/api.js'
import { confirmEmailAddress } from '../src/delivery/notification-settings-repository.js'
import { deliveryTrigger } from '../src/jobs/delivery-trigger.js'
import { DELIVERY_BATCH } from '../src/jobs/payloads.js'
import { withBenchDatabase } from './bench-database.js'
import { startStack } from './bench-stack.js'
import { percentile, timeWritesToSocket } from './write-to-socket.js'

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 10_000)
const READINGS = Number(process.env.BENCH_READINGS ?? 300)
const SECRET = randomBytes(32).toString('base64url')

/** An SMTP server that accepts and counts; it reads each message whole, as a relay would. */
async function countingSmtp() {
  const state = { accepted: 0 }
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      stream.on('data', () => undefined)
      stream.on('end', () => {
        state.accepted += 1
        callback()
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.server.address() as AddressInfo
  return { state, url: `smtp://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) }
}

async function until(check: () => Promise<boolean>, limitMs: number, what: string) {
  const deadline = Date.now() + limitMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${limitMs / 1000} s`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function throughput(mode: 'redis' | 'postgres', batch: number, databaseUrl: string) {
  const smtp = await countingSmtp()
  const stack = await startStack(mode, databaseUrl, { SMTP_URL: smtp.url, EMAIL_FROM: 'PAM <pam@example.org>' })
  const { db } = stack.deps
  try {
    await sql`
      with travellers as (
        insert into users (id) select gen_random_uuid() from generate_series(1, ${DELIVERIES}) returning id
      ), settings as (
        -- the bench's own travellers, under example.org: seeded confirmed, as a confirmed address is
        insert into notification_settings (user_id, email_address, email_verified_at)
        select id, 'traveller-' || id || '@example.org', now() from travellers
      )
      insert into alerts (user_id, kind, priority, title, body, data, dedupe_key)
      select id, 'budget_threshold', 'high', 'Budget over 80 %', 'Food: 412 of 450 USD this month',
             '{"threshold": 0.8, "ruleVersion": 1}', 'bench:' || id from travellers`.execute(db)
    const ids = (await db.selectFrom('alerts').select('id').execute()).map((row) => row.id)
    const started = performance.now()
    const { enqueueDeliveries } = deliveryTrigger(stack.producer.enqueue, stack.deps.logger)
    for (let start = 0; start < ids.length; start += batch) await enqueueDeliveries(ids.slice(start, start + batch))
    const queuedMs = performance.now() - started
    await until(async () => smtp.state.accepted >= ids.length, 30 * 60_000, `${ids.length} emails`)
    const emailedMs = performance.now() - started
    await until(
      async () => {
        const row = await db
          .selectFrom('deliveries')
          .select((eb) => eb.fn.countAll<string>().as('sent'))
          .where('channel', '=', 'email')
          .where('status', '=', 'sent')
          .executeTakeFirstOrThrow()
        return Number(row.sent) >= ids.length
      },
      60_000,
      'every delivery recorded as sent',
    )
    const recordedMs = performance.now() - started
    process.stdout.write(
      `${mode === 'redis' ? 'Redis mode' : 'Postgres-only mode'}, jobs of ${batch}: ${ids.length} alerts → ${smtp.state.accepted} emails ` +
        `in ${(emailedMs / 1000).toFixed(1)} s (${Math.round(smtp.state.accepted / (emailedMs / 1000))} emails/s; ` +
        `jobs queued in ${(queuedMs / 1000).toFixed(1)} s; every row sent after ${(recordedMs / 1000).toFixed(1)} s), ` +
        `load average ${loadavg()[0]?.toFixed(1)}\n`,
    )
  } finally {
    await stack.close()
    await smtp.close()
  }
}

async function writeToSocket(mode: 'redis' | 'postgres', withEmail: boolean, databaseUrl: string) {
  const smtp = await countingSmtp()
  const stack = await startStack(mode, databaseUrl, {
    JWT_SECRET: SECRET,
    RATE_LIMIT_PER_MINUTE: '1000000',
    // Every high alert emailed, as before the hourly cap: what the email work costs the socket path.
    EMAIL_ALERTS_PER_HOUR: '1000',
    ...(withEmail ? { SMTP_URL: smtp.url, EMAIL_FROM: 'PAM <pam@example.org>' } : {}),
  })
  const app = await buildApiApp(stack.deps, stack.producer)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  try {
    const { latencies, stream } = await timeWritesToSocket(
      port,
      SECRET,
      READINGS,
      8,
      { email: { address: 'bench@example.org', enabled: true, minPriority: 'high' } },
      // The bench's own address, confirmed as its owner would by following the link.
      async (userId) => {
        await confirmEmailAddress(stack.deps.db, userId, (address) => address === 'bench@example.org')
      },
    )
    stream.close()
    process.stdout.write(
      `${mode === 'redis' ? 'Redis mode' : 'Postgres-only mode'}, ${withEmail ? 'email on (local SMTP peer)' : 'no SMTP'}: ` +
        `write→socket over ${READINGS} readings p50 ${percentile(latencies, 50).toFixed(1)} ms, ` +
        `p99 ${percentile(latencies, 99).toFixed(1)} ms; ${smtp.state.accepted} emails\n`,
    )
  } finally {
    await app.close()
    await stack.close()
    await smtp.close()
  }
}

process.stdout.write(
  `conditions: ${cpus().length} × ${cpus()[0]?.model.trim()}, node ${process.version}, worker (concurrency 8), API, ` +
    `SMTP peer and client in one process, local PostgreSQL and Redis; load average ${loadavg()[0]?.toFixed(1)}\n`,
)
for (const mode of ['redis', 'postgres'] as const) {
  for (const batch of [1, DELIVERY_BATCH]) await withBenchDatabase(ADMIN_URL, (url) => throughput(mode, batch, url))
  for (const withEmail of [false, true, false, true]) {
    await withBenchDatabase(ADMIN_URL, (url) => writeToSocket(mode, withEmail, url))
  }
}
