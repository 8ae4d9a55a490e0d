import { type MonitorName, monitorNamed } from '../monitoring/registry.js'
import { jsonText, type QueueBackend } from '../platform/backend/backend.js'
import { messageOf } from '../platform/errors/error-message.js'
import type { Logger } from '../platform/logger.js'
import type { Producer } from './producer.js'

/** Asks for a monitor's evaluation of one user after a write; never fails the write. */
export type Evaluate = (monitor: MonitorName, userId: string) => void

/** The bus channel of a write's evaluation request in Postgres-only mode: `[monitor, userId]`. */
export const EVALUATIONS_CHANNEL = 'evaluations'

/**
 * How a write's evaluation is asked for. Redis mode queues a job (evaluationJobs). Postgres-only
 * mode tells every worker over the bus, and the one that claims the user evaluates it
 * (prompt-evaluations.ts): BullMQ's PostgreSQL backend spent about nine statements on each
 * job, where the claim is one and its release another. Either way a request that is lost leaves
 * the write's mark, which the drainer evaluates.
 */
export function evaluationTrigger(
  backend: Pick<QueueBackend, 'kind' | 'bus'>,
  enqueue: Producer['enqueue'],
  logger: Logger,
): Evaluate {
  if (backend.kind === 'redis') return evaluationJobs(enqueue, logger)
  return (monitor, userId) => {
    backend.bus
      .publish(EVALUATIONS_CHANNEL, jsonText([monitor, userId]))
      .catch((error) =>
        logger.warn(
          { monitor, err: messageOf(error) },
          'could not ask for an evaluation; the drainer evaluates this write',
        ),
      )
  }
}

/**
 * A burst of writes becomes one evaluation: jobs are deduplicated per monitor and user, and a
 * write while one runs queues exactly one more (BullMQ's keepLastIfActive), so the last write is
 * always evaluated. If the queue cannot take it (Redis down) or the job is lost, the write still
 * stands and its evaluation mark (written with it) has the drainer evaluate it within seconds.
 */
function evaluationJobs(enqueue: Producer['enqueue'], logger: Logger): Evaluate {
  return (monitor, userId) => {
    const task = monitorNamed(monitor)?.tasks.evaluate
    if (!task) {
      logger.error({ monitor }, 'no such monitor is registered; the drainer cannot evaluate it either')
      return
    }
    // Not kept once done, unlike other jobs: one a write, and what it did is in the fence
    // (evaluated_at) and the alerts. Keeping them costs BullMQ's PostgreSQL backend a scan of
    // the kept jobs at each completion (its count-based trim), the larger part of a job's cost.
    enqueue(
      task,
      { userId },
      { deduplication: { id: `${monitor}:${userId}`, keepLastIfActive: true }, removeOnComplete: true },
    ).catch((error) =>
      logger.warn(
        { monitor, err: messageOf(error) },
        'could not queue an evaluation; the drainer evaluates this write',
      ),
    )
  }
}
