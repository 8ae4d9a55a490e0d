import { startConsumer } from '../../jobs/consumer.js'
import { runnableTasks } from '../../jobs/handlers.js'
import { createProducer } from '../../jobs/producer.js'
import { startPromptEvaluations } from '../../jobs/prompt-evaluations.js'
import { monitors } from '../../monitoring/registry.js'
import type { QueueName } from '../../platform/backend/queue-names.js'
import { startHeartbeat } from '../../platform/heartbeats/heartbeat.js'
import type { Deps } from '../composition/deps.js'
import { workerServices } from '../composition/worker-services.js'
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
  const { services, delivery } = workerServices(deps, producer.enqueue, heartbeat.id)
  const consumer = startConsumer({
    backend: deps.backend,
    db: deps.db,
    logger: deps.logger,
    metrics: deps.metrics,
    errors: deps.errors,
    lockDurationMs: deps.config.WORKER_LOCK_DURATION_MS,
    workerId: heartbeat.id,
    queues: options.queues,
    concurrency: options.concurrency,
    tasks: runnableTasks(),
    services,
    delivery,
    producerQueues: producer.queues,
  })
  // Postgres-only mode evaluates writes without a job: a worker listens for the monitors whose
  // jobs it would run (evaluation-trigger.ts).
  const evaluating = monitors()
    .filter((monitor) => options.queues.includes(monitor.queue))
    .map((monitor) => monitor.name)
  const prompt =
    deps.backend.kind === 'postgres' && evaluating.length > 0
      ? await startPromptEvaluations({
          bus: deps.backend.bus,
          databaseUrl: deps.databaseUrl,
          monitors: evaluating,
          context: { db: deps.db, logger: deps.logger, workerId: heartbeat.id, signal, services, delivery },
          logger: deps.logger,
        })
      : undefined
  deps.logger.info(
    { workerId: heartbeat.id, queues: options.queues, concurrency: options.concurrency },
    'worker started',
  )
  return {
    async stop() {
      const stopped = Date.now()
      await prompt?.close(deps.config.SHUTDOWN_TIMEOUT_MS)
      await consumer.close(deps.config.SHUTDOWN_TIMEOUT_MS)
      // Before the heartbeat goes (then its claims are anyone's): outcomes kept through an outage.
      await delivery.settlements.flush(Math.max(0, deps.config.SHUTDOWN_TIMEOUT_MS - (Date.now() - stopped)))
      await producer.close()
      delivery.close()
      await heartbeat.stop()
    },
  }
}
