/**
 * `npm run bench:validation-flood`: what a validation flood does to everyone else. A `pam api`
 * process (Postgres-only mode: refusing a body touches neither queue nor Redis) is sent bodies of
 * 70,000 unknown keys (0.76 MB) on `POST /v1/vehicles` from several connections while `GET /health`
 * is measured beside them; then a body of one 1 MB string where a name belongs. Prints /health
 * latency alone and under each flood, and what refusing one body costs. Asserts nothing.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import autocannon from 'autocannon'
import { mintDevToken } from '../src/http/auth/dev-token.js'
import { spawnPam } from '../test/helpers/process.js'
import { withBenchDatabase } from './bench-database.js'
import { pamEnv } from './pam-env.js'

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const FLOOD_CONNECTIONS = Number(process.env.BENCH_FLOOD_CONNECTIONS ?? 6)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const SECRET = randomBytes(32).toString('base64url')
const PORT = 18_000 + Math.floor(Math.random() * 1000)

const wideBody = () => {
  const body: Record<string, unknown> = { name: 'Van', fuelCapacityL: 80, consumptionLPer100Km: 12 }
  for (let i = 0; i < 70_000; i++) body[`k${i}`] = i
  return JSON.stringify(body)
}
const longBody = () => JSON.stringify({ name: 'x'.repeat(1_000_000), fuelCapacityL: 80, consumptionLPer100Km: 12 })

/** CPU time (user + system) the process has used so far, in ms, from /proc (Linux). */
function cpuMs(pid: number) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
}

async function health(base: string) {
  // Two connections, as load balancer checks and a few other clients would be.
  return autocannon({ url: `${base}/health`, connections: 2, duration: SECONDS })
}

async function run(databaseUrl: string) {
  // The rate limit out of the way is the worst case: an attacker with enough users never to be slowed.
  const api = spawnPam(['api'], pamEnv({ databaseUrl, port: PORT, jwtSecret: SECRET }))
  try {
    const base = `http://127.0.0.1:${PORT}`
    const token = await mintDevToken({ secret: SECRET, userId: randomUUID(), ttl: '1h', audience: 'authenticated' })
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    for (
      let i = 0;
      (await fetch(`${base}/v1/me`, { headers }).then(
        (r) => r.status,
        () => 0,
      )) !== 200;
      i++
    ) {
      if (i > 300) throw new Error(`pam api did not start: ${api.output()}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const line = (label: string, result: autocannon.Result) =>
      `  ${label.padEnd(34)} p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`
    const rows = [line('/health alone', await health(base))]
    for (const [label, body] of [
      ['70,000 unknown keys (0.76 MB)', wideBody()],
      ['a 1 MB name', longBody()],
    ] as const) {
      const sample = await fetch(`${base}/v1/vehicles`, { method: 'POST', headers, body })
      const answer = await sample.text()
      const cpuBefore = cpuMs(api.child.pid as number)
      const [flood, during] = await Promise.all([
        autocannon({
          url: `${base}/v1/vehicles`,
          method: 'POST',
          headers,
          body,
          connections: FLOOD_CONNECTIONS,
          duration: SECONDS,
        }),
        health(base),
      ])
      const cpu = cpuMs(api.child.pid as number) - cpuBefore
      rows.push(line(`/health during ${label}`, during))
      rows.push(
        `    the flood: ${Math.round(flood.requests.average)} req/s refused (${sample.status}, ${answer.length} bytes each), ` +
          `${(cpu / Math.max(flood.requests.total, 1)).toFixed(1)} ms of API CPU per refusal (/health requests included)`,
      )
    }
    process.stdout.write(`${rows.join('\n')}\n`)
  } finally {
    await api.stop('SIGTERM')
  }
}

process.stdout.write(
  `conditions: ${cpus().length} × ${cpus()[0]?.model.trim()}, node ${process.version}, pam api in its own process ` +
    `(source via tsx, Postgres-only mode, local PostgreSQL), autocannon in the bench process: ${FLOOD_CONNECTIONS} flood ` +
    `connections and 2 /health connections for ${SECONDS} s per flood; load average before: ${loadavg()[0]?.toFixed(1)} ` +
    '(the machine is shared: compare figures taken together)\n',
)
await withBenchDatabase(ADMIN_URL, run)
