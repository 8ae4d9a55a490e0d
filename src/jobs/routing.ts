import type { QueueName } from './queues.js'
import type { TaskHandler } from './task.js'
import { housekeeping } from './tasks/housekeeping.js'
import { ping } from './tasks/ping.js'

export interface Route {
  queue: QueueName
  /** Lower runs first (BullMQ: 1 is highest). Always set: unprioritised jobs would jump the line. */
  priority: number
  attempts: number
  timeoutMs: number
  // Each task's payload type is its own; the consumer passes job data it cannot type.
  // biome-ignore lint/suspicious/noExplicitAny: see above
  handler: TaskHandler<any, unknown>
}

/** The one routing table: task name → queue, priority, retries, time limit, handler. */
export const ROUTES = {
  'ops.ping': { queue: 'notifications', priority: 1, attempts: 1, timeoutMs: 10_000, handler: ping },
  'housekeeping.cleanup': {
    queue: 'maintenance',
    priority: 10,
    attempts: 5,
    timeoutMs: 5 * 60_000,
    handler: housekeeping,
  },
} satisfies Record<string, Route>

export type TaskName = keyof typeof ROUTES

export const isTaskName = (name: string): name is TaskName => Object.hasOwn(ROUTES, name)

/** Exponential backoff between attempts: 2 s, 4 s, 8 s … with jitter (BullMQ caps via attempts). */
export const RETRY_BACKOFF = { type: 'exponential', delay: 2_000, jitter: 0.5 } as const

/** Completed jobs are kept about a day, failed ones about two weeks, for `pam inspect`. */
export const RETENTION = {
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 14 * 24 * 3600, count: 50_000 },
} as const
