/**
 * `npm run bench:alerts`, both modes, against local PostgreSQL and Redis (BENCH_DATABASE_URL /
 * BENCH_REDIS_URL): (1) write→WebSocket latency: fuel readings posted one after another,
 * alternating 15 % and 90 %, each timed until its alert.created / alert.resolved arrives on the
 * user's socket; (2) delivery: BENCH_WRITES low readings, each to its own vehicle, from one user
 * one after another and from as many users in bursts of 50, each timed until its own alert
 * arrives on the socket (the drainer scheduled as in production), counted as delivered if it
 * arrives within 15 s; (3) the fuel sweep over BENCH_SWEEP_VEHICLES vehicles (4 per user, every
 * latest reading below 20 %, no position so no provider calls) beside a plain count(*) with the
 * same predicate on the same data. API, worker and client share one process. Prints; asserts nothing.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { cpus } from 'node:os'
import { sql } from 'kysely'
import { buildApiApp } from '../src/app/roles/api.js'
import { mintDevToken } from '../src/http/auth/dev-token.js'
import { syncSchedules } from '../src/jobs/schedules.js'
import { openStream } from '../test/helpers/stream.js'
import { settleSeed, withBenchDatabase } from './bench-database.js'
import { type Stack, startStack } from './bench-stack.js'
import { percentile, timeWritesToSocket } from './write-to-socket.js'

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const READINGS = Number(process.env.BENCH_READINGS ?? 1000)
const SWEEP_VEHICLES = Number(process.env.BENCH_SWEEP_VEHICLES ?? 100_000)
const WRITES = Number(process.env.BENCH_WRITES ?? 1000)
const BURST = 50
const DELIVERY_TIMEOUT_MS = 15_000
const SECRET = randomBytes(32).toString('base64url')

interface Traveller {
  headers: Record<string, string>
  stream: Awaited<ReturnType<typeof openStream>>
}

/** A user with an open socket (past hello), and `vehicles` vehicles. */
async function traveller(port: number, vehicles: number): Promise<Traveller & { vehicleIds: string[] }> {
  const token = await mintDevToken({ secret: SECRET, userId: randomUUID(), ttl: '1h', audience: 'authenticated' })
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const vehicleIds: string[] = []
  for (let i = 0; i < vehicles; i++) {
    const response = await fetch(`http://127.0.0.1:${port}/v1/vehicles`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: `Van ${i}`, fuelCapacityL: 80, consumptionLPer100Km: 12.5 }),
    })
    vehicleIds.push(((await response.json()) as { id: string }).id)
  }
  const stream = await openStream(`ws://127.0.0.1:${port}/v1/stream`, { authorization: `Bearer ${token}` })
  await stream.next((m) => m.type === 'hello')
  return { headers, stream, vehicleIds }
}

/** Posts a 15 % reading and waits for that vehicle's alert on the socket: ms, or undefined if it never came. */
async function writeToAlert(port: number, who: Traveller, vehicleId: string): Promise<number | undefined> {
  const started = performance.now()
  const alert = who.stream.next(
    (m) =>
      m.type === 'alert.created' &&
      (m.alert as { data?: { vehicleId?: string } } | undefined)?.data?.vehicleId === vehicleId,
    DELIVERY_TIMEOUT_MS,
  )
  await fetch(`http://127.0.0.1:${port}/v1/vehicles/${vehicleId}/fuel-readings`, {
    method: 'POST',
    headers: who.headers,
    body: JSON.stringify({ percent: 15 }),
  })
  return alert.then(
    () => performance.now() - started,
    () => undefined,
  )
}

const deliveryLine = (what: string, results: (number | undefined)[]) => {
  const arrived = results.filter((ms): ms is number => ms !== undefined).sort((a, b) => a - b)
  return `  write→alert, ${what}: delivered ${arrived.length} / ${results.length}, p50 ${percentile(arrived, 50).toFixed(1)} ms, p99 ${percentile(arrived, 99).toFixed(1)} ms\n`
}

async function delivery(port: number, producer: Stack['producer'], logger: Stack['deps']['logger']) {
  await syncSchedules(producer, logger, [
    { id: 'pam-evaluation-drain', task: 'evaluations.drain', pattern: '*/5 * * * * *' },
  ])
  try {
    const one = await traveller(port, WRITES)
    const oneUser: (number | undefined)[] = []
    for (const vehicleId of one.vehicleIds) oneUser.push(await writeToAlert(port, one, vehicleId))
    one.stream.close()

    const many: (Traveller & { vehicleIds: string[] })[] = []
    for (let i = 0; i < WRITES; i += BURST) {
      many.push(...(await Promise.all(Array.from({ length: Math.min(BURST, WRITES - i) }, () => traveller(port, 1)))))
    }
    const manyUsers: (number | undefined)[] = []
    for (let i = 0; i < many.length; i += BURST) {
      const burst = many.slice(i, i + BURST)
      manyUsers.push(...(await Promise.all(burst.map((who) => writeToAlert(port, who, who.vehicleIds[0] ?? '')))))
    }
    for (const who of many) who.stream.close()
    return (
      deliveryLine(`${WRITES} writes of one user, one after another`, oneUser) +
      deliveryLine(`${WRITES} users, one write each, in bursts of ${BURST}`, manyUsers)
    )
  } finally {
    await syncSchedules(producer, logger, [])
  }
}

async function run(mode: 'redis' | 'postgres', databaseUrl: string) {
  const stack = await startStack(mode, databaseUrl, { JWT_SECRET: SECRET, RATE_LIMIT_PER_MINUTE: '1000000' })
  const { deps, producer } = stack
  const app = await buildApiApp(deps, producer)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as { port: number }).port
  try {
    // (1) write → WebSocket
    const { userId, latencies, stream } = await timeWritesToSocket(port, SECRET, READINGS, 15)
    stream.close()
    const delivered = await delivery(port, producer, deps.logger)

    // (2) the fuel sweep over many vehicles
    const users = Math.ceil(SWEEP_VEHICLES / 4)
    await sql`insert into users (id) select gen_random_uuid() from generate_series(1, ${users})`.execute(deps.db)
    await sql`insert into vehicles (user_id, name, fuel_capacity_l, consumption_l_per_100km)
              select u.id, 'van ' || n, 80, 12.5 from users u cross join generate_series(1, 4) n
              where u.id <> ${userId}`.execute(deps.db)
    await sql`insert into fuel_readings (user_id, vehicle_id, percent, observed_at)
              select v.user_id, v.id, 15, now() - interval '1 hour' from vehicles v where v.user_id <> ${userId}`.execute(
      deps.db,
    )
    await settleSeed(deps.db)
    const counted = performance.now()
    const { rows } = await sql<{ count: string }>`
      select count(*) from vehicles v
      cross join lateral (select percent from fuel_readings r where r.vehicle_id = v.id
                          order by r.observed_at desc, r.id desc limit 1) latest
      where latest.percent < 20`.execute(deps.db)
    const countMs = performance.now() - counted
    const swept = performance.now()
    await producer.enqueue('monitor.fuel.sweep', {})
    let run: { users_evaluated: number; alerts_created: number; status: string } | undefined
    while (!run) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      run = await deps.db
        .selectFrom('monitor_runs')
        .select(['users_evaluated', 'alerts_created', 'status'])
        .where('monitor', '=', 'fuel')
        .where('finished_at', 'is not', null)
        .executeTakeFirst()
    }
    const sweepMs = performance.now() - swept
    const vehicles = Number(rows[0]?.count ?? 0)
    process.stdout.write(
      `${mode === 'redis' ? 'Redis mode' : 'Postgres-only mode'}:\n` +
        `  write→WebSocket over ${READINGS} readings: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms\n` +
        delivered +
        `  fuel sweep: ${vehicles} low vehicles of ${run.users_evaluated} users in ${(sweepMs / 1000).toFixed(1)} s ` +
        `(${Math.round(vehicles / (sweepMs / 1000))} vehicles/s, ${run.alerts_created} alerts created, ${run.status}); ` +
        `count(*) with the same predicate: ${countMs.toFixed(0)} ms (${Math.round(vehicles / (countMs / 1000))} vehicles/s)\n`,
    )
  } finally {
    await app.close()
    await stack.close()
  }
}

process.stdout.write(
  `conditions: ${cpus().length} × ${cpus()[0]?.model.trim()}, node ${process.version}, API + worker (concurrency 8) + client in one process, local PostgreSQL and Redis over loopback\n`,
)
for (const mode of ['redis', 'postgres'] as const) await withBenchDatabase(ADMIN_URL, (url) => run(mode, url))
