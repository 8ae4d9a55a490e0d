import { monitorThresholds } from '../config.js'
import type { Deps } from '../deps.js'
import { startHeartbeat } from '../heartbeats/heartbeat.js'
import { startConsumer } from '../jobs/consumer.js'
import { createProducer } from '../jobs/producer.js'
import type { QueueName } from '../jobs/queues.js'
import type { RunningRole } from './role.js'
import { waitForStore } from './wait-for-store.js'

export interface WorkerOptions {
  queues: readonly QueueName[]
  concurrency: number
  heartbeatIntervalMs?: number
}

export async function startWorker(deps: Deps, signal: AbortSignal, options: WorkerOptions): Promise<RunningRole> {
  await waitForStore(deps, signal)
  const heartbeat = await startHeartbeat(deps.db, deps.logger, {
    role: 'worker',
    queues: options.queues,
    concurrency: options.concurrency,
    intervalMs: options.heartbeatIntervalMs,
  })
  const producer = createProducer(deps.backend, deps.logger)
  const consumer = startConsumer({
    backend: deps.backend,
    db: deps.db,
    logger: deps.logger,
    metrics: deps.metrics,
    lockDurationMs: deps.config.WORKER_LOCK_DURATION_MS,
    workerId: heartbeat.id,
    queues: options.queues,
    concurrency: options.concurrency,
    services: {
      bus: deps.backend.bus,
      places: deps.places,
      weather: deps.weather,
      thresholds: monitorThresholds(deps.config),
      drainGraceMs: deps.config.EVALUATION_DRAIN_GRACE_MS,
      enqueue: producer.enqueue,
    },
  })
  deps.logger.info(
    { workerId: heartbeat.id, queues: options.queues, concurrency: options.concurrency },
    'worker started',
  )
  return {
    async stop() {
      await consumer.close(deps.config.SHUTDOWN_TIMEOUT_MS)
      await producer.close()
      await heartbeat.stop()
    },
  }
}
