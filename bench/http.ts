/**
 * `npm run bench:http`: latency and throughput of `GET /health` and of an authenticated
 * `GET /v1/alerts` (50 open alerts, first page of 50) against a `pam api` process, under
 * autocannon in this process, in both modes. Needs PostgreSQL and Redis (BENCH_DATABASE_URL /
 * BENCH_REDIS_URL, else the local services). Prints; asserts nothing.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { cpus } from 'node:os'
import autocannon from 'autocannon'
import pg from 'pg'
import { mintDevToken } from '../src/auth/dev-token.js'
import { spawnPam } from '../test/helpers/process.js'
import { withBenchDatabase } from './bench-database.js'

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const SECRET = randomBytes(32).toString('base64url')
const PORT = 18_000 + Math.floor(Math.random() * 1000)

async function run(mode: 'postgres' | 'redis', databaseUrl: string) {
  const url = new URL(databaseUrl)
  const api = spawnPam(['api'], {
    DATABASE_URL: url.toString(),
    ...(mode === 'redis' ? { REDIS_URL, REDIS_PREFIX: `pambench${randomBytes(3).toString('hex')}` } : {}),
    PORT: String(PORT),
    HOST: '127.0.0.1',
    JWT_SECRET: SECRET,
    INTERNAL_TOKEN: randomBytes(24).toString('base64url'),
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '1000000',
  })
  try {
    const base = `http://127.0.0.1:${PORT}`
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base}/health`).then(
        (r) => r.ok,
        () => false,
      )
      if (ok) break
      if (i > 300) throw new Error(`pam api did not start: ${api.output()}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const userId = randomUUID()
    const token = await mintDevToken({ secret: SECRET, userId, ttl: '1h', audience: 'authenticated' })
    const headers = { authorization: `Bearer ${token}` }
    // The first request creates the user row (and waits for migrations to have run).
    for (let i = 0; (await fetch(`${base}/v1/me`, { headers })).status !== 200; i++) {
      if (i > 100) throw new Error('GET /v1/me never answered 200')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const db = new pg.Client({ connectionString: url.toString() })
    await db.connect()
    await db.query(
      `insert into alerts (user_id, kind, priority, title, body, data, dedupe_key)
       select $1, 'fuel_low', 'medium', 'Fuel low', 'Fuel at 15 %', '{"threshold": 20, "ruleVersion": 1}', 'k' || n
       from generate_series(1, 50) n`,
      [userId],
    )
    await db.end()
    const rows: string[] = []
    for (const [label, path, extra] of [
      ['GET /health', '/health', {}],
      ['GET /v1/alerts', '/v1/alerts', headers],
    ] as const) {
      const result = await autocannon({
        url: `${base}${path}`,
        connections: CONNECTIONS,
        duration: SECONDS,
        headers: extra,
      })
      rows.push(
        `  ${label.padEnd(15)} ${Math.round(result.requests.average).toString().padStart(6)} req/s, ` +
          `p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, non-2xx ${result.non2xx}`,
      )
    }
    process.stdout.write(`${mode === 'redis' ? 'Redis mode' : 'Postgres-only mode'}:\n${rows.join('\n')}\n`)
  } finally {
    await api.stop('SIGTERM')
  }
}

process.stdout.write(
  `conditions: ${cpus().length} × ${cpus()[0]?.model.trim()}, node ${process.version}, pam api in its own process (source via tsx), ` +
    `autocannon in the bench process with ${CONNECTIONS} connections for ${SECONDS} s per endpoint, local PostgreSQL and Redis over loopback\n`,
)
for (const mode of ['redis', 'postgres'] as const) await withBenchDatabase(ADMIN_URL, (url) => run(mode, url))
