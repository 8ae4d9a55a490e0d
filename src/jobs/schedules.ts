import { monitors } from '../monitoring/registry.js'
import type { PamQueue } from '../platform/backend/backend.js'
import type { Config } from '../platform/config.js'
import type { Logger } from '../platform/logger.js'
import type { Producer } from './producer.js'
import { declarationOf, type TaskName } from './task-declarations.js'

export interface Schedule {
  /** BullMQ job scheduler id: the schedule names docs/api.md lists (operators' dashboards use them). */
  id: string
  task: TaskName
  pattern: string
}

/**
 * Every schedule PAM runs, cadences from config: each monitor's sweep (from the monitor registry),
 * then the drainer and housekeeping. The scheduler makes BullMQ match this list exactly.
 */
export function schedules(config: Config): Schedule[] {
  return [
    ...monitors().map((monitor) => ({
      id: monitor.schedule.id,
      task: monitor.tasks.sweep,
      pattern: monitor.schedule.pattern(config),
    })),
    { id: 'pam-evaluation-drain', task: 'evaluations.drain', pattern: config.SCHEDULE_EVALUATION_DRAIN },
    { id: 'pam-delivery-drain', task: 'notify.drain', pattern: config.SCHEDULE_DELIVERY_DRAIN },
    { id: 'pam-digests', task: 'notify.digests', pattern: config.SCHEDULE_DIGESTS },
    { id: 'pam-housekeeping', task: 'housekeeping.cleanup', pattern: config.SCHEDULE_HOUSEKEEPING },
    { id: 'pam-briefings', task: 'ai.briefings.sweep', pattern: config.SCHEDULE_BRIEFINGS },
  ]
}

const OWNED_PREFIX = 'pam-'

/**
 * Upserts every schedule, or those of `only` (idempotent by id, so two schedulers or a restart
 * never duplicate one), and removes PAM schedulers that are no longer in code. An upsert starts a
 * schedule afresh: a run of it already due and still queued moves to the next time its pattern
 * gives, so a schedule in good health is upserted only at start.
 */
export async function syncSchedules(
  producer: Producer,
  logger: Logger,
  wanted: readonly Schedule[],
  only?: readonly string[],
): Promise<void> {
  for (const [queueName, queue] of producer.queues) {
    const onQueue = wanted.filter((schedule) => declarationOf(schedule.task).queue === queueName)
    for (const schedule of onQueue) {
      if (only && !only.includes(schedule.id)) continue
      const { priority, attempts, backoff, removeOnComplete, removeOnFail } = producer.optionsOf(schedule.task)
      await queue
        .upsertJobScheduler(
          schedule.id,
          { pattern: schedule.pattern, tz: 'UTC' },
          {
            name: schedule.task,
            data: {},
            opts: { priority, attempts, backoff, removeOnComplete, removeOnFail },
          },
        )
        .catch((error: Error) => {
          // Two schedulers upserting at once (Postgres-only backend): the other one has just
          // created this iteration, which is what this upsert wanted.
          if (!/job ID already exists/i.test(error.message)) throw error
        })
    }
    const existing = await queue.getJobSchedulers()
    for (const scheduler of existing) {
      const id = scheduler.key
      if (id.startsWith(OWNED_PREFIX) && !onQueue.some((schedule) => schedule.id === id)) {
        await queue.removeJobScheduler(id)
        logger.info({ queue: queueName, scheduler: id }, 'removed a schedule that is no longer in code')
      }
    }
  }
}

/**
 * A run's successor is added moments after the run starts; one active this long without it has
 * lost it. Well past BullMQ's own retry of that step (the worker's runRetryDelay,
 * WORKER_RETRY_DELAY_MS), so a successor still on its way is not taken for lost.
 */
const SUCCESSOR_DUE_MS = 30_000
const PENDING = new Set(['waiting', 'prioritized', 'delayed', 'waiting-children'])

/**
 * Whether the run BullMQ lists next for `scheduler` will never come. A worker adds a schedule's
 * next run when it starts the current one, in a command of its own: a store that loses that
 * command (a failover's last, unreplicated write) or the run itself leaves the schedule listed and
 * nothing to run, for good. Read again before saying so: the run may have started since.
 */
async function nextRunLost(queue: PamQueue, scheduler: { key: string; next?: number | null }): Promise<boolean> {
  const job = await queue.getJob(`repeat:${scheduler.key}:${scheduler.next}`)
  if (job) {
    const state = await job.getState()
    if (PENDING.has(state)) return false
    if (state === 'active' && Date.now() - (job.processedOn ?? Date.now()) < SUCCESSOR_DUE_MS) return false
  }
  return (await queue.getJobScheduler(scheduler.key))?.next === scheduler.next
}

/**
 * The ids of wanted schedules that BullMQ no longer runs: gone (a store that lost its data), or
 * listed with their next run lost (`nextRunLost`). Upserting them again starts them afresh.
 */
export async function missingSchedules(producer: Producer, wanted: readonly Schedule[]): Promise<string[]> {
  const missing: string[] = []
  for (const [queueName, queue] of producer.queues) {
    const onQueue = wanted.filter((schedule) => declarationOf(schedule.task).queue === queueName)
    if (onQueue.length === 0) continue
    const listed = new Map((await queue.getJobSchedulers()).map((scheduler) => [scheduler.key, scheduler]))
    for (const schedule of onQueue) {
      const scheduler = listed.get(schedule.id)
      if (!scheduler || (await nextRunLost(queue, scheduler))) missing.push(schedule.id)
    }
  }
  return missing
}
