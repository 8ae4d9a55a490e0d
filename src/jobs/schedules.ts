import { monitors } from '../monitoring/registry.js'
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
 * Upserts every schedule (idempotent by id, so two schedulers or a restart never duplicate one)
 * and removes PAM schedulers that are no longer in code.
 */
export async function syncSchedules(producer: Producer, logger: Logger, wanted: readonly Schedule[]): Promise<void> {
  for (const [queueName, queue] of producer.queues) {
    const onQueue = wanted.filter((schedule) => declarationOf(schedule.task).queue === queueName)
    for (const schedule of onQueue) {
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

/** The ids of wanted schedules that BullMQ no longer has (a store that lost its data). */
export async function missingSchedules(producer: Producer, wanted: readonly Schedule[]): Promise<string[]> {
  const missing: string[] = []
  for (const [queueName, queue] of producer.queues) {
    const onQueue = wanted.filter((schedule) => declarationOf(schedule.task).queue === queueName)
    if (onQueue.length === 0) continue
    const present = new Set((await queue.getJobSchedulers()).map((scheduler) => scheduler.key))
    missing.push(...onQueue.filter((schedule) => !present.has(schedule.id)).map((schedule) => schedule.id))
  }
  return missing
}
