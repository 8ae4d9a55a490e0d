/**
 * `npm run bench:write-rate`: write→alert on the socket at a steady write rate, both modes, with
 * PAM laid out as in production: `pam api` and `pam worker` each in their own process, the
 * travellers' HTTP clients and sockets in this one. BENCH_TRAVELLERS travellers (one vehicle and
 * an open socket each) take turns posting fuel readings at each rate of BENCH_WRITES_PER_S (a list,
 * default 50,100,200 a second) for BENCH_SECONDS after BENCH_WARMUP_SECONDS (15) at it, each
 * traveller's alternating 15 % and 90 %, so every write opens or resolves an alert; each is timed
 * from its POST until its alert.created / alert.resolved arrives on its socket, and the CPU each
 * process spent is divided by the writes. Needs PostgreSQL and Redis (BENCH_DATABASE_URL /
 * BENCH_REDIS_URL, else the local services). Prints figures, conditions and whether the write-rate
 * target holds (docs/performance.md).
 * The yardstick in the same run (layout `minimal`, on by default): the minimal pipeline of
 * `bench/minimal-pipeline/` (the same durable steps on bare pg, BullMQ and ws, Redis mode) under the
 * same travellers and rates; at the end the targets' ratios: PAM's API + worker CPU per write against
 * the minimal pipeline's (≤ 1.5×), PostgreSQL's CPU per write Postgres-only against Redis mode (≤ 2×).
 * BENCH_ROUNDS=n runs the modes n times over, in turn (redis, postgres, minimal, redis…), and the
 * targets take each figure's mean over the rounds: two layouts measured one after the other see a
 * shared machine's drift, which rounds in turn spread over both.
 * BENCH_MODES=redis,cluster adds the layout past one machine beside it, in the same run: Redis mode on
 * a local Redis Cluster (three masters, three replicas) with DATABASE_URL through PgBouncer in
 * transaction mode (DATABASE_DIRECT_URL to the server), both started by the test harness.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { cpus, loadavg } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { mintDevToken } from '../src/http/auth/dev-token.js'
import { startPgBouncer } from '../test/helpers/pgbouncer.js'
import { type PamProcess, spawnPam } from '../test/helpers/process.js'
import { redisCluster } from '../test/helpers/redis-cluster.js'
import { dropRedisPrefix } from '../test/helpers/services.js'
import { openStream, type StreamClient } from '../test/helpers/stream.js'
import { withBenchDatabase } from './bench-database.js'
import { type MinimalPipeline, startMinimalPipeline } from './minimal-pipeline/processes.js'
import { pamEnv } from './pam-env.js'
import { cpuSeconds, databaseCpu } from './process-cpu.js'
import { waitFor } from './wait-for.js'
import { startWorkerProcess } from './worker-process.js'
import { percentile } from './write-to-socket.js'

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const RATES = (process.env.BENCH_WRITES_PER_S ?? '50,100,200').split(',').map(Number)
const TRAVELLERS = Number(process.env.BENCH_TRAVELLERS ?? 200)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20)
// What a deployment is sized by is the steady state: a profile of the worker after 3 s of warm-up
// found the first five timed seconds at about 1.5 times the CPU of the rest (its code still being
// optimized), which the minimal pipeline's little code did not show.
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 15)
const CONCURRENCY = 8
type Layout = 'redis' | 'postgres' | 'cluster' | 'minimal'
const MODES = (process.env.BENCH_MODES ?? 'redis,postgres,minimal').split(',') as Layout[]
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1)
const SECRET = randomBytes(32).toString('base64url')
const PORT = 19_000 + Math.floor(Math.random() * 1000)

interface Traveller {
  userId: string
  headers: Record<string, string>
  vehicleId: string
  stream: StreamClient
  writes: number
}

/** Until no write waits for its evaluation (every mark cleared). */
async function evaluated(databaseUrl: string) {
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  try {
    while (Number((await db.query('select count(*) from evaluation_marks')).rows[0].count) > 0) {
      await sleep(100)
    }
  } finally {
    await db.end()
  }
}

async function traveller(base: string): Promise<Traveller> {
  const userId = randomUUID()
  const token = await mintDevToken({ secret: SECRET, userId, ttl: '1h', audience: 'authenticated' })
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const response = await fetch(`${base}/v1/vehicles`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ name: 'Van', fuelCapacityL: 80, consumptionLPer100Km: 12.5 }),
  })
  if (!response.ok) throw new Error(`vehicle: ${response.status} ${await response.text()}`)
  const { id } = (await response.json()) as { id: string }
  const stream = await openStream(`${base.replace('http', 'ws')}/v1/stream`, { authorization: headers.authorization })
  await stream.next((m) => m.type === 'hello')
  return { userId, headers, vehicleId: id, stream, writes: 0 }
}

/** Writes refused with a 503 at the rate being measured. */
let refused = 0

/** One reading, timed until its own alert event is on the traveller's socket; undefined if it never came. */
async function write(base: string, who: Traveller): Promise<number | undefined> {
  const low = who.writes++ % 2 === 0
  const seen = who.stream.messages.length
  const started = performance.now()
  const event = who.stream.next(
    (m) => who.stream.messages.indexOf(m) >= seen && m.type === (low ? 'alert.created' : 'alert.resolved'),
    15_000,
  )
  event.catch(() => undefined)
  const response = await fetch(`${base}/v1/vehicles/${who.vehicleId}/fuel-readings`, {
    method: 'POST',
    headers: who.headers,
    body: JSON.stringify({ percent: low ? 15 : 90 }),
  })
  // A full machine answers 503 (no database connection free in time): a write that never reached its socket.
  if (response.status === 503) {
    refused++
    await response.body?.cancel()
    return undefined
  }
  if (response.status !== 201) throw new Error(`reading: ${response.status} ${await response.text()}`)
  return event.then(
    () => performance.now() - started,
    () => undefined,
  )
}

/** Writes at `rate` a second for `seconds`, round-robin over the travellers, each on its own schedule slot. */
async function paced(base: string, travellers: Traveller[], rate: number, seconds: number) {
  const total = Math.round(rate * seconds)
  const start = performance.now()
  const results: Promise<number | undefined>[] = []
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate
    const wait = due - performance.now()
    if (wait > 0) await sleep(wait)
    results.push(write(base, travellers[i % travellers.length] as Traveller))
  }
  const achieved = total / ((performance.now() - start) / 1000)
  return { latencies: await Promise.all(results), achieved }
}

/** What one rate measured: CPU ms per write of each process, and write→socket percentiles. */
interface RateFigures {
  cpuMs: Record<string, number>
  p50: number
  p99: number
}
/** Each layout's figures at each rate, one a round. */
const measured = new Map<Layout, Map<number, RateFigures[]>>()
/** The bench database's own backends: `postgres` and `redis-server` are every such process on the machine. */
const THIS_DB = 'postgres (this db)'

/** The processes under test (PAM's API and worker, or the minimal pipeline's) by name. */
type Pids = Record<string, number | undefined>

const LABELS: Record<Layout, string> = {
  redis: 'Redis mode',
  postgres: 'Postgres-only mode',
  cluster: 'Redis Cluster (3 masters, 3 replicas) + PgBouncer (transaction mode)',
  minimal: 'Minimal pipeline (bare pg, BullMQ, ws; Redis)',
}

/** Each rate of RATES after a warm-up at it: latencies on the socket and CPU per write of each process. */
async function measureRates(mode: Layout, base: string, databaseUrl: string, travellers: Traveller[], pids: Pids) {
  const figures = measured.get(mode) ?? new Map<number, RateFigures[]>()
  measured.set(mode, figures)
  for (const rate of RATES) {
    // Each traveller's vehicle create (or the rate before) queued evaluations: none is left behind.
    await evaluated(databaseUrl)
    await paced(base, travellers, rate, WARMUP_SECONDS)
    refused = 0
    const database = await databaseCpu(databaseUrl)
    const cpuBefore = cpuSeconds(pids)
    const ownBefore = process.cpuUsage()
    const windowStart = performance.now()
    const { latencies, achieved } = await paced(base, travellers, rate, SECONDS)
    const windowSeconds = (performance.now() - windowStart) / 1000
    const cpuAfter: Record<string, number> = { ...cpuSeconds(pids), [THIS_DB]: await database() }
    const own = process.cpuUsage(ownBefore)
    const arrived = latencies.filter((ms): ms is number => ms !== undefined).sort((a, b) => a - b)
    const p50 = percentile(arrived, 50)
    const p99 = percentile(arrived, 99)
    const holds = arrived.length === latencies.length && p50 <= 10 && p99 <= 25
    const used = Object.fromEntries(
      Object.keys(cpuAfter).map((name) => [name, (cpuAfter[name] ?? 0) - (cpuBefore[name] ?? 0)]),
    )
    used.clients = (own.user + own.system) / 1e6
    // CPU per write, in ms, of each process over the timed writes (and the tail they left).
    // A sum over processes of a name loses what a process that exited had used: shown as n/a.
    const cpuMs = Object.fromEntries(
      Object.entries(used).map(([name, seconds]) => [name, (seconds * 1000) / latencies.length]),
    )
    figures.set(rate, [...(figures.get(rate) ?? []), { cpuMs, p50, p99 }])
    const cpu = Object.entries(cpuMs).map(
      ([name, ms]) => `${name} ${ms < 0 ? 'n/a (processes came and went)' : ms.toFixed(1)}`,
    )
    // Where the machine is full, per-write figures read low: the window had no more CPU to give.
    const busy = Object.values(used).reduce((sum, seconds) => sum + Math.max(0, seconds), 0) / windowSeconds
    process.stdout.write(
      `${LABELS[mode]}, ${latencies.length} writes at ${achieved.toFixed(0)} writes/s over ${TRAVELLERS} travellers: ` +
        `on the socket ${arrived.length} / ${latencies.length}${refused ? ` (${refused} refused with 503)` : ''}, p50 ${p50.toFixed(1)} ms, ` +
        `p90 ${percentile(arrived, 90).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms` +
        (rate >= 200 && mode !== 'minimal'
          ? ` (target at 200 writes/s p50 ≤ 10 ms, p99 ≤ 25 ms: ${holds ? 'holds' : 'MISSED'})`
          : '') +
        `\n  CPU ms per write: ${cpu.join(', ')}; all of them ${(busy * 100).toFixed(0)} % of one core ` +
        `over the ${windowSeconds.toFixed(1)} s until the last event (${cpus().length} cores); ` +
        `load average ${(loadavg()[0] ?? 0).toFixed(1)}\n`,
    )
  }
}

/**
 * The minimal pipeline on a PAM-migrated database: `pam api` migrates it and makes the travellers
 * (their users and vehicles), then gives way to the pipeline's API on the same port, where each
 * traveller opens its socket again and names itself in `x-user-id` (the pipeline has no auth).
 */
async function minimalDeployment(env: Record<string, string>, databaseUrl: string, travellers: Traveller[]) {
  const pipeline = await startMinimalPipeline({
    port: PORT,
    databaseUrl,
    redisUrl: env.REDIS_URL ?? REDIS_URL,
    prefix: env.REDIS_PREFIX ?? '',
  })
  const ws = `ws://127.0.0.1:${PORT}/v1/stream`
  for (const who of travellers) {
    who.headers = { 'x-user-id': who.userId, 'content-type': 'application/json' }
    who.stream = await openStream(ws, { 'x-user-id': who.userId })
    await who.stream.next((m) => m.type === 'hello')
  }
  return pipeline
}

async function run(mode: Layout, databaseUrl: string) {
  const prefix = `pambench${randomBytes(3).toString('hex')}`
  const cluster = mode === 'cluster' ? await redisCluster() : undefined
  const pooler = mode === 'cluster' ? await startPgBouncer(databaseUrl) : undefined
  const redisUrl = cluster?.url ?? REDIS_URL
  const env = {
    ...pamEnv({
      databaseUrl: pooler?.through(databaseUrl) ?? databaseUrl,
      redis: mode === 'postgres' ? undefined : { url: redisUrl, prefix },
      port: PORT,
      jwtSecret: SECRET,
    }),
    ...(cluster ? { REDIS_CLUSTER: 'true', DATABASE_DIRECT_URL: databaseUrl } : {}),
  }
  let api: PamProcess | undefined = spawnPam(['api'], env)
  const base = `http://127.0.0.1:${PORT}`
  let worker: PamProcess | undefined
  let minimal: MinimalPipeline | undefined
  const travellers: Traveller[] = []
  try {
    // The API migrates; the worker starts once it has, and /ready waits for the worker's heartbeat.
    await waitFor(`${base}/health`, {}, api.output)
    if (mode === 'minimal') {
      // No worker here, so no /ready: a user's first request answers once the migrations have run.
      const token = await mintDevToken({ secret: SECRET, userId: randomUUID(), ttl: '1h', audience: 'authenticated' })
      await waitFor(`${base}/v1/me`, { authorization: `Bearer ${token}` }, api.output)
    } else {
      worker = await startWorkerProcess(env, CONCURRENCY)
      await waitFor(`${base}/ready`, {}, api.output)
    }
    for (let i = 0; i < TRAVELLERS; i += 50) {
      travellers.push(
        ...(await Promise.all(Array.from({ length: Math.min(50, TRAVELLERS - i) }, () => traveller(base)))),
      )
    }
    let pids: Pids = { api: api.child.pid, worker: worker?.child.pid }
    if (mode === 'minimal') {
      for (const who of travellers) who.stream.close()
      await api.stop('SIGTERM')
      api = undefined
      // The vehicles' creation marked their travellers for PAM's worker, which is not running.
      const db = new pg.Client({ connectionString: databaseUrl })
      await db.connect()
      await db.query('truncate evaluation_marks')
      await db.end()
      minimal = await minimalDeployment(env, databaseUrl, travellers)
      pids = { api: minimal.api.pid, worker: minimal.worker.pid }
    }
    await measureRates(mode, base, databaseUrl, travellers, pids)
  } finally {
    for (const who of travellers) who.stream.close()
    await minimal?.stop()
    await worker?.stop('SIGTERM')
    await api?.stop('SIGTERM')
    if (mode === 'redis' || mode === 'minimal') await dropRedisPrefix(REDIS_URL, prefix)
    await pooler?.stop()
    await cluster?.stop()
  }
}

/**
 * A layout's figures at a rate, each the mean over the rounds; a process's CPU that a round could
 * not read (negative: processes came and went) stays unread.
 */
function meanOver(rounds: RateFigures[] | undefined): RateFigures | undefined {
  if (!rounds?.length) return undefined
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length
  const names = [...new Set(rounds.flatMap((f) => Object.keys(f.cpuMs)))]
  const cpu = (name: string) => rounds.map((f) => f.cpuMs[name] ?? -1)
  return {
    cpuMs: Object.fromEntries(names.map((name) => [name, cpu(name).some((ms) => ms < 0) ? -1 : mean(cpu(name))])),
    p50: mean(rounds.map((f) => f.p50)),
    p99: mean(rounds.map((f) => f.p99)),
  }
}

/** The targets' ratios from the same run, at each rate both sides measured (over the rounds, their means). */
function printTargets() {
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || a < 0 || b <= 0 ? undefined : a / b
  const shown = (value: number | undefined, target: number) =>
    value === undefined ? 'n/a' : `${value.toFixed(2)}× (target ≤ ${target}: ${value <= target ? 'holds' : 'MISSED'})`
  // A sum with a figure no round could read (negative) is unread too.
  const sum = (f: RateFigures | undefined, names: string[]) => {
    const figures = names.map((name) => f?.cpuMs[name] ?? 0)
    return f && figures.every((ms) => ms >= 0) ? figures.reduce((a, b) => a + b, 0) : undefined
  }
  const own = (f: RateFigures | undefined) => sum(f, ['api', 'worker'])
  const servers = (f: RateFigures | undefined) => sum(f, ['api', 'worker', THIS_DB, 'redis-server'])
  const lines = [`targets, same run${ROUNDS > 1 ? ` (means over ${ROUNDS} rounds in turn)` : ''}:`]
  for (const rate of RATES) {
    const redis = meanOver(measured.get('redis')?.get(rate))
    const minimal = meanOver(measured.get('minimal')?.get(rate))
    const postgres = meanOver(measured.get('postgres')?.get(rate))
    lines.push(
      `  ${rate} writes/s: PAM API + worker CPU per write ${own(redis)?.toFixed(1) ?? 'n/a'} ms vs the minimal ` +
        `pipeline's ${own(minimal)?.toFixed(1) ?? 'n/a'} ms: ${shown(ratio(own(redis), own(minimal)), 1.5)}; ` +
        `with this database's backends and Redis ${servers(redis)?.toFixed(1) ?? 'n/a'} vs ${servers(minimal)?.toFixed(1) ?? 'n/a'} ms ` +
        `(${ratio(servers(redis), servers(minimal))?.toFixed(2) ?? 'n/a'}×); minimal p50 ${minimal?.p50.toFixed(1) ?? 'n/a'} ms, ` +
        `p99 ${minimal?.p99.toFixed(1) ?? 'n/a'} ms`,
      `  ${rate} writes/s: PostgreSQL CPU per write (the bench database's backends) Postgres-only ` +
        `${postgres?.cpuMs[THIS_DB]?.toFixed(1) ?? 'n/a'} ms vs Redis mode ${redis?.cpuMs[THIS_DB]?.toFixed(1) ?? 'n/a'} ms: ` +
        shown(ratio(postgres?.cpuMs[THIS_DB], redis?.cpuMs[THIS_DB]), 2),
    )
  }
  process.stdout.write(`${lines.join('\n')}\n`)
}

process.stdout.write(
  `conditions: ${cpus().length} × ${cpus()[0]?.model.trim()}, node ${process.version}; pam api and pam worker ` +
    `(concurrency ${CONCURRENCY}) each in their own process (source via tsx), the clients in a third; ` +
    `${SECONDS} s at each rate after ${WARMUP_SECONDS} s of warm-up at it; local PostgreSQL and Redis over loopback; ` +
    `load average ${(loadavg()[0] ?? 0).toFixed(1)} before\n`,
)
for (let round = 1; round <= ROUNDS; round++) {
  if (ROUNDS > 1) process.stdout.write(`round ${round} of ${ROUNDS}\n`)
  for (const mode of MODES) await withBenchDatabase(ADMIN_URL, (url) => run(mode, url))
}
printTargets()
process.stdout.write(`load average ${(loadavg()[0] ?? 0).toFixed(1)} after\n`)
