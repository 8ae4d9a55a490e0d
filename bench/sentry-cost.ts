/**
 * `npm run bench:sentry`: what error tracking costs a `pam api` process: time from spawn to
 * GET /health = 200, and resident memory after a few idle seconds, without SENTRY_DSN and with
 * it (pointed at a local receiver). Runs alternate, so load on a shared machine hits both alike.
 * Prints its figures; asserts nothing. Needs TEST_DATABASE_URL (a PostgreSQL it may create databases on).
 */
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { createDatabase } from '../src/platform/db/database.js'
import { migrateUp } from '../src/platform/db/migrator.js'
import { createLogger } from '../src/platform/logger.js'
import { startFakeSentry } from '../test/helpers/fake-sentry.js'
import { testEnv } from '../test/helpers/harness.js'
import { freePort, get, spawnPam } from '../test/helpers/process.js'
import { createTestDatabase } from '../test/helpers/services.js'
import { median } from './median.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const IDLE_MS = 3_000

const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024

async function once(databaseUrl: string, extra: Record<string, string>) {
  const port = await freePort()
  const started = performance.now()
  const pam = spawnPam(['api'], testEnv('postgres', databaseUrl, { PORT: String(port), ...extra }))
  while ((await get(`http://127.0.0.1:${port}/health`)).status !== 200) {
    if (performance.now() - started > 120_000) throw new Error(`no /health after 120 s: ${pam.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const toHealthMs = performance.now() - started
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS))
  const memory = rssMb(pam.child.pid as number)
  await pam.stop()
  return { toHealthMs, memory }
}

const database = await createTestDatabase()
const sentry = await startFakeSentry()
try {
  const handle = createDatabase(database.url, createLogger({ level: 'silent', role: 'bench' }))
  await migrateUp(handle.db)
  await handle.close()
  const off: { toHealthMs: number; memory: number }[] = []
  const on: { toHealthMs: number; memory: number }[] = []
  for (let run = 0; run < RUNS; run++) {
    off.push(await once(database.url, {}))
    on.push(await once(database.url, { SENTRY_DSN: sentry.dsn }))
  }
  const line = (label: string, runs: typeof off) =>
    `${label}: start to /health ${Math.round(median(runs.map((r) => r.toHealthMs)))} ms, RSS ${median(runs.map((r) => r.memory)).toFixed(1)} MB (median of ${RUNS})`
  console.log(line('SENTRY_DSN unset', off))
  console.log(line('SENTRY_DSN set  ', on))
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, Node ${process.version}`,
  )
} finally {
  await sentry.close()
  await database.drop()
}
