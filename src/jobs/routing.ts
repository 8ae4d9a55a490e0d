import {
  budgetMonitor,
  contextMonitor,
  fuelMonitor,
  maintenanceMonitor,
  weatherMonitor,
} from './monitor-definitions.js'
import type { QueueName } from './queues.js'
import type { TaskHandler } from './task.js'
import { housekeeping } from './tasks/housekeeping.js'
import { drainTask, evaluateTask, type Monitor, pageTask, sweepTask } from './tasks/monitor-tasks.js'
import { ping } from './tasks/ping.js'

export interface Route {
  queue: QueueName
  /** Lower runs first (BullMQ: 1 is highest). Always set: unprioritised jobs would jump the line. */
  priority: number
  attempts: number
  /** Retry delay: `backoffMs` × 2^(attempt − 1), at most `backoffCapMs`, less up to half at random. */
  backoffMs: number
  backoffCapMs: number
  timeoutMs: number
  /** At most one run at a time across all workers; a run that finds one in progress is skipped. */
  exclusive: boolean
  // Each task's payload type is its own; the consumer passes job data it cannot type.
  // biome-ignore lint/suspicious/noExplicitAny: see above
  handler: TaskHandler<any, unknown>
}

const MINUTE = 60_000

/** The three tasks of a monitor: evaluate one user after a write, sweep everyone, one sweep page. */
const monitorRoutes = (queue: QueueName, monitor: Monitor) => ({
  evaluate: {
    queue,
    // Ahead of sweep pages: a traveller who just wrote is waiting for the answer.
    priority: 2,
    attempts: 5,
    backoffMs: 1_000,
    backoffCapMs: MINUTE,
    timeoutMs: MINUTE,
    exclusive: false,
    handler: evaluateTask(monitor),
  },
  sweep: {
    queue,
    priority: 5,
    attempts: 3,
    backoffMs: 5_000,
    backoffCapMs: MINUTE,
    timeoutMs: 5 * MINUTE,
    // A sweep still enumerating when the next tick comes is not started again.
    exclusive: true,
    handler: sweepTask(monitor),
  },
  page: {
    queue,
    priority: 5,
    attempts: 5,
    backoffMs: 2_000,
    backoffCapMs: 2 * MINUTE,
    timeoutMs: 5 * MINUTE,
    exclusive: false,
    handler: pageTask(monitor),
  },
})
const fuel = monitorRoutes('notifications', fuelMonitor)
const budget = monitorRoutes('analytics', budgetMonitor)
const weather = monitorRoutes('analytics', weatherMonitor)
const maintenance = monitorRoutes('maintenance', maintenanceMonitor)
const context = monitorRoutes('notifications', contextMonitor)

/** The one routing table: task name → queue, priority, retries, time limit, handler. */
export const ROUTES = {
  'ops.ping': {
    queue: 'notifications',
    priority: 1,
    attempts: 1,
    backoffMs: 1_000,
    backoffCapMs: 1_000,
    timeoutMs: 10_000,
    exclusive: false,
    handler: ping,
  },
  'housekeeping.cleanup': {
    queue: 'maintenance',
    priority: 10,
    attempts: 5,
    backoffMs: 5_000,
    backoffCapMs: 5 * MINUTE,
    timeoutMs: 5 * MINUTE,
    exclusive: true,
    handler: housekeeping,
  },
  'evaluations.drain': {
    queue: 'notifications',
    // Ahead of everything else: it only finds late writes and queues their pages.
    priority: 1,
    attempts: 1,
    backoffMs: 1_000,
    backoffCapMs: 1_000,
    timeoutMs: MINUTE,
    exclusive: true,
    handler: drainTask,
  },
  'monitor.fuel.evaluate': fuel.evaluate,
  'monitor.fuel.sweep': fuel.sweep,
  'monitor.fuel.page': fuel.page,
  'monitor.budget.evaluate': budget.evaluate,
  'monitor.budget.sweep': budget.sweep,
  'monitor.budget.page': budget.page,
  'monitor.weather.evaluate': weather.evaluate,
  'monitor.weather.sweep': weather.sweep,
  'monitor.weather.page': weather.page,
  'monitor.maintenance.evaluate': maintenance.evaluate,
  'monitor.maintenance.sweep': maintenance.sweep,
  'monitor.maintenance.page': maintenance.page,
  'monitor.context.evaluate': context.evaluate,
  'monitor.context.sweep': context.sweep,
  'monitor.context.page': context.page,
} satisfies Record<string, Route>

export type TaskName = keyof typeof ROUTES

export const TASK_NAMES = Object.keys(ROUTES) as TaskName[]

export const isTaskName = (name: string): name is TaskName => Object.hasOwn(ROUTES, name)

/** The backoff type PAM's jobs carry; the worker's strategy reads each task's route. */
export const BACKOFF_TYPE = 'pam-capped-exponential'

export function retryDelay(route: Route, attemptsMade: number, random = Math.random()): number {
  const full = Math.min(route.backoffCapMs, route.backoffMs * 2 ** Math.max(0, attemptsMade - 1))
  return Math.round(full * (1 - random / 2))
}

/** Completed jobs are kept about a day, failed ones about two weeks, for `pam inspect`. */
export const RETENTION = {
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 14 * 24 * 3600, count: 50_000 },
} as const
