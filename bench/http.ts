/**
 * `npm run bench:http`: `GET /health` and an authenticated `GET /v1/alerts` (a first page of 50
 * open alerts) against a `pam api` process, both modes, with the yardstick measured in the same
 * run: bare Fastify (`bench/bare-fastify.ts`) answering the same `/health` body. The load
 * generator is autocannon's CLI in a process of its own, so neither server shares its event loop
 * with it. Needs PostgreSQL and Redis (BENCH_DATABASE_URL / BENCH_REDIS_URL, else the local
 * services). Prints figures, conditions and whether each HTTP target holds (docs/performance.md).
 * BENCH_MODES (default redis,postgres) picks the modes; BENCH_NODE_OPTIONS=--cpu-prof profiles `pam api`.
 * BENCH_HTTP_ROUNDS=n measures each pair (yardstick, PAM) n times, in turn, and the targets take the
 * median ratio.
 */
import { spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { mintDevToken } from '../src/http/auth/dev-token.js'
import { spawnPam } from '../test/helpers/process.js'
import { dropRedisPrefix } from '../test/helpers/services.js'
import { withBenchDatabase } from './bench-database.js'
import { median } from './median.js'
import { pamEnv } from './pam-env.js'
import { cpuSeconds, databaseCpu } from './process-cpu.js'
import { waitFor } from './wait-for.js'

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const MODES = (process.env.BENCH_MODES ?? 'redis,postgres').split(',') as ('redis' | 'postgres')[]
const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 1)
if (!Number.isInteger(ROUNDS) || ROUNDS < 1)
  throw new Error(`BENCH_HTTP_ROUNDS must be a whole number ≥ 1, not ${process.env.BENCH_HTTP_ROUNDS}`)
const SECRET = randomBytes(32).toString('base64url')
const PORT = 18_000 + Math.floor(Math.random() * 1000)
const BARE_PORT = PORT + 1000
const AUTOCANNON = fileURLToPath(new URL('../node_modules/autocannon/autocannon.js', import.meta.url))
const BARE = fileURLToPath(new URL('./bare-fastify.ts', import.meta.url))

interface Figures {
  rps: number
  p50: number
  p99: number
  non2xx: number
  errors: number
  /** CPU µs per request of the server process, and of PostgreSQL and Redis (steadier than req/s on a shared machine). */
  cpuUs: Record<string, number>
}

/**
 * autocannon's CLI in its own process; a short warm-up run first, so the JIT has compiled the path.
 * `server` is the pid whose CPU is divided by the requests, beside PostgreSQL's and Redis's.
 */
async function load(
  url: string,
  server: { pid: number | undefined; databaseUrl: string },
  headers: Record<string, string> = {},
): Promise<Figures> {
  const run = (seconds: number) =>
    new Promise<Omit<Figures, 'cpuUs'>>((resolve, reject) => {
      const args = [AUTOCANNON, '-j', '-c', String(CONNECTIONS), '-d', String(seconds)]
      for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}=${value}`)
      const child = spawn(process.execPath, [...args, url], { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      child.stdout.on('data', (chunk) => {
        out += chunk
      })
      child.on('error', reject)
      child.on('exit', (code) => {
        if (code !== 0) return reject(new Error(`autocannon exited ${code}`))
        const r = JSON.parse(out)
        resolve({
          rps: r.requests.average,
          p50: r.latency.p50,
          p99: r.latency.p99,
          non2xx: r.non2xx,
          errors: r.errors,
        })
      })
    })
  await run(2)
  // The bench database's own backends (the servers' pools), not every PostgreSQL process on a shared machine.
  const database = await databaseCpu(server.databaseUrl)
  const before = cpuSeconds({ server: server.pid })
  const figures = await run(SECONDS)
  const after: Record<string, number> = {
    ...cpuSeconds({ server: server.pid }),
    'postgres (this db)': await database(),
  }
  const requests = figures.rps * SECONDS
  const cpuUs = Object.fromEntries(
    Object.keys(after).map((name) => [name, (((after[name] ?? 0) - (before[name] ?? 0)) * 1e6) / requests]),
  )
  return { ...figures, cpuUs }
}

const line = (label: string, f: Figures) =>
  `  ${label.padEnd(22)} ${Math.round(f.rps).toString().padStart(6)} req/s, p50 ${f.p50} ms, p99 ${f.p99} ms` +
  (f.non2xx || f.errors ? `, non-2xx ${f.non2xx}, errors ${f.errors}` : '') +
  `; CPU µs/request ${Object.entries(f.cpuUs)
    .filter(([name]) => name !== 'pgbouncer' && name !== 'postgres')
    .map(([name, us]) => `${name} ${Math.round(us)}`)
    .join(', ')}`
const verdict = (holds: boolean) => (holds ? 'holds' : 'MISSED')
// Steadier than the req/s ratio where other work shares the cores: each server's own CPU per request.
const cpuRatio = (pam: Figures, bare: Figures) => ((pam.cpuUs.server ?? 0) / (bare.cpuUs.server ?? 1)).toFixed(2)

async function run(mode: 'postgres' | 'redis', databaseUrl: string) {
  const prefix = `pambench${randomBytes(3).toString('hex')}`
  const api = spawnPam(
    ['api'],
    pamEnv({
      databaseUrl,
      redis: mode === 'redis' ? { url: REDIS_URL, prefix } : undefined,
      port: PORT,
      jwtSecret: SECRET,
    }),
  )
  const userId = randomUUID()
  const bare = spawn(process.execPath, ['--import', 'tsx', BARE], {
    env: { ...process.env, PORT: String(BARE_PORT), DATABASE_URL: databaseUrl, BENCH_USER_ID: userId },
    stdio: 'ignore',
  })
  try {
    const base = `http://127.0.0.1:${PORT}`
    await waitFor(`${base}/health`, {}, api.output)
    await waitFor(`http://127.0.0.1:${BARE_PORT}/health`)
    const token = await mintDevToken({ secret: SECRET, userId, ttl: '1h', audience: 'authenticated' })
    const headers = { authorization: `Bearer ${token}` }
    // The first request creates the user row (and waits for migrations to have run).
    await waitFor(`${base}/v1/me`, headers)
    const db = new pg.Client({ connectionString: databaseUrl })
    await db.connect()
    // Exactly one page: with more, PAM's answer would carry a nextCursor that the yardstick's does not.
    await db.query(
      `insert into alerts (user_id, kind, priority, title, body, data, dedupe_key)
       select $1, 'fuel_low', 'medium', 'Fuel low', 'Fuel at 15 %', '{"threshold": 20, "ruleVersion": 1}', 'k' || n
       from generate_series(1, 50) n`,
      [userId],
    )
    await db.end()
    const bareServer = { pid: bare.pid, databaseUrl }
    const pamServer = { pid: api.child.pid, databaseUrl }
    // Each pair (yardstick, then PAM) back to back, the pairs in turn: a shared machine's drift
    // between the two halves of one pair is what moves a ratio, and rounds spread it.
    const rounds: { health: number; list: number }[] = []
    let report = `${mode === 'redis' ? 'Redis mode' : 'Postgres-only mode'}:\n`
    for (let round = 1; round <= ROUNDS; round++) {
      const bareHealth = await load(`http://127.0.0.1:${BARE_PORT}/health`, bareServer)
      const health = await load(`${base}/health`, pamServer)
      const bareList = await load(`http://127.0.0.1:${BARE_PORT}/alerts`, bareServer)
      const list = await load(`${base}/v1/alerts`, pamServer, headers)
      const ratios = { health: health.rps / bareHealth.rps, list: list.rps / bareList.rps }
      rounds.push(ratios)
      report +=
        (ROUNDS > 1 ? ` round ${round}:\n` : '') +
        `${line('bare Fastify /health', bareHealth)}\n` +
        `${line('GET /health', health)}  (${ratios.health.toFixed(2)}× bare; server CPU per request ${cpuRatio(health, bareHealth)}× bare's)\n` +
        `${line('bare Fastify + pg, 50', bareList)}  (the same statement and body, no auth or rate limit)\n` +
        `${line('GET /v1/alerts (50)', list)}  (${ratios.list.toFixed(2)}× bare + pg; server CPU per request ${cpuRatio(list, bareList)}× bare's)\n`
    }
    const ratio = median(rounds.map((r) => r.health))
    const listRatio = median(rounds.map((r) => r.list))
    const of = ROUNDS > 1 ? `, median of ${ROUNDS} rounds` : ''
    process.stdout.write(
      `${report}` +
        `  GET /health ${ratio.toFixed(2)}× bare${of}: target ≥ 0.70: ${verdict(ratio >= 0.7)}\n` +
        `  GET /v1/alerts ${listRatio.toFixed(2)}× bare + pg${of}: target ≥ 0.80: ${verdict(listRatio >= 0.8)}\n` +
        `  load average ${(loadavg()[0] ?? 0).toFixed(1)}\n`,
    )
  } finally {
    bare.kill('SIGTERM')
    await api.stop('SIGTERM')
    // Its queues' and rate limits' keys go with it, as its database does.
    if (mode === 'redis') await dropRedisPrefix(REDIS_URL, prefix)
  }
}

const loadBefore = loadavg()[0] ?? 0
process.stdout.write(
  `conditions: ${cpus().length} × ${cpus()[0]?.model.trim()}, node ${process.version}; pam api (source via tsx) and bare ` +
    `Fastify each in their own process, autocannon's CLI in a third with ${CONNECTIONS} connections for ${SECONDS} s ` +
    `(after 2 s of warm-up) per endpoint, ${ROUNDS} round(s); local PostgreSQL and Redis over loopback; load average ${loadBefore.toFixed(1)} before\n`,
)
for (const mode of MODES) await withBenchDatabase(ADMIN_URL, (url) => run(mode, url))
process.stdout.write(`load average ${(loadavg()[0] ?? 0).toFixed(1)} after\n`)
