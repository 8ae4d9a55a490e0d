/**
 * `npm run bench:jobs`: throughput of no-op `ops.ping` jobs through PAM's worker (task lookup, time
 * limit, metrics) beside raw BullMQ workers with the same backend and settings, at concurrency 1
 * and 50, in both modes; and enqueue→start latency at a steady 200 jobs/s. Needs PostgreSQL and
 * Redis (BENCH_DATABASE_URL / BENCH_REDIS_URL, else the local services). Prints; asserts nothing.
 */
import { randomBytes } from 'node:crypto'
import { cpus } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { startConsumer } from '../src/jobs/consumer.js'
import { runnableTasks } from '../src/jobs/handlers.js'
import { createProducer, type Producer } from '../src/jobs/producer.js'
import type { QueueBackend } from '../src/platform/backend/backend.js'
import { createPostgresQueueBackend } from '../src/platform/backend/postgres.js'
import { createRedisBackend } from '../src/platform/backend/redis.js'
import { createDatabase, type Db } from '../src/platform/db/database.js'
import { migrateUp } from '../src/platform/db/migrator.js'
import { createLogger } from '../src/platform/logger.js'
import { createMetrics } from '../src/platform/metrics.js'
import { dropRedisPrefix } from '../test/helpers/services.js'
import { withBenchDatabase } from './bench-database.js'

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const JOBS = {
  redis: Number(process.env.BENCH_JOBS_REDIS ?? 5000),
  postgres: Number(process.env.BENCH_JOBS_PG ?? 2000),
}
const LATENCY_JOBS = Number(process.env.BENCH_LATENCY_JOBS ?? 1000)
const logger = createLogger({ level: 'error', role: 'bench' })

type Mode = keyof typeof JOBS

async function completed(producer: Producer): Promise<number> {
  const counts = await producer.queues.get('notifications')?.getJobCounts('completed')
  return counts?.completed ?? 0
}

/** Enqueues `count` pings, then starts the workers and times the drain. */
async function drain(producer: Producer, count: number, start: () => { close(): Promise<void> }) {
  const queue = producer.queues.get('notifications')
  await queue?.obliterate({ force: true })
  const opts = { ...producer.optionsOf('ops.ping'), removeOnComplete: false as const }
  for (let i = 0; i < count; i += 1000) {
    await queue?.addBulk(
      Array.from({ length: Math.min(1000, count - i) }, () => ({ name: 'ops.ping', data: {}, opts })),
    )
  }
  const started = performance.now()
  const workers = start()
  while ((await completed(producer)) < count) await sleep(20)
  const seconds = (performance.now() - started) / 1000
  await workers.close()
  return count / seconds
}

function percentile(sorted: number[], p: number) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0
}

async function bench(mode: Mode, url: string) {
  const prefix = `pambench${randomBytes(3).toString('hex')}`
  const backend =
    mode === 'redis'
      ? createRedisBackend({ url: REDIS_URL, prefix, logger })
      : createPostgresQueueBackend({ url, prefix, logger, poolSize: 60 })
  const database = createDatabase(url, logger)
  let producer: Producer | undefined
  try {
    await migrateUp(database.db)
    await backend.migrate()
    producer = createProducer(backend, logger)
    return await measure(mode, producer, backend, database.db)
  } finally {
    await producer?.close()
    await backend.close()
    await database.close()
    // Its queues' keys and the in-use marker go with it, as its database does.
    if (mode === 'redis') await dropRedisPrefix(REDIS_URL, prefix)
  }
}

async function measure(mode: Mode, producer: Producer, backend: QueueBackend, db: Db) {
  const pam = (concurrency: number) => () => {
    const consumer = startConsumer({
      backend,
      db,
      logger,
      metrics: createMetrics(),
      workerId: 'bench',
      queues: ['notifications'],
      concurrency,
      lockDurationMs: 30_000,
      tasks: runnableTasks(),
    })
    return { close: () => consumer.close(30_000) }
  }
  const raw = (concurrency: number) => () => {
    // The settings PAM's consumer gives BullMQ, so the gap is PAM's own per-job work.
    const worker = backend.createWorker('notifications', async () => ({ pong: true }), {
      concurrency,
      lockDuration: 30_000,
      stalledInterval: 30_000,
      metrics: { maxDataPoints: 24 * 60 },
    })
    // Dropping the bench database ends its connections; BullMQ would print each error otherwise.
    worker.on('error', () => undefined)
    return { close: () => worker.close() }
  }
  const rows: string[] = []
  for (const concurrency of [1, 50]) {
    const count = concurrency === 1 ? Math.round(JOBS[mode] / 5) : JOBS[mode]
    const rawRate = await drain(producer, count, raw(concurrency))
    const pamRate = await drain(producer, count, pam(concurrency))
    rows.push(
      `  concurrency ${String(concurrency).padStart(2)}: PAM ${pamRate.toFixed(0)} jobs/s, raw BullMQ ${rawRate.toFixed(0)} jobs/s (PAM/raw ${(pamRate / rawRate).toFixed(2)}, ${count} jobs)`,
    )
  }

  // Latency: a worker waits on an empty queue; jobs arrive one at a time at 200/s.
  const queue = producer.queues.get('notifications')
  await queue?.obliterate({ force: true })
  const workers = pam(50)()
  await sleep(500)
  const opts = { ...producer.optionsOf('ops.ping'), removeOnComplete: false as const }
  for (let i = 0; i < LATENCY_JOBS; i++) {
    await queue?.add('ops.ping', {}, opts)
    await sleep(5)
  }
  while ((await completed(producer)) < LATENCY_JOBS) await sleep(20)
  await workers.close()
  const jobs = (await queue?.getCompleted(0, LATENCY_JOBS)) ?? []
  const waits = jobs.map((job) => (job.processedOn ?? 0) - job.timestamp).sort((a, b) => a - b)
  rows.push(
    `  enqueue→start at ~200 jobs/s (${waits.length} jobs): p50 ${percentile(waits, 50)} ms, p99 ${percentile(waits, 99)} ms`,
  )
  await queue?.obliterate({ force: true })
  return rows
}

process.stdout.write(
  `conditions: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, one process for producer and workers, local PostgreSQL and Redis over loopback; no-op ops.ping jobs\n`,
)
for (const mode of ['redis', 'postgres'] as const) {
  const rows = await withBenchDatabase(ADMIN_URL, (url) => bench(mode, url))
  process.stdout.write(`${mode === 'redis' ? 'Redis mode' : 'Postgres-only mode'}:\n${rows.join('\n')}\n`)
}
