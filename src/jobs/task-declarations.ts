import type { JobsOptions } from 'bullmq'
import { DELIVERY_ATTEMPTS } from '../delivery/delivery-attempts.js'
import { monitorNamed, monitors } from '../monitoring/registry.js'
import type { QueueName } from '../platform/backend/queue-names.js'

/**
 * How a task runs, as data: producers, the scheduler and the worker read it; the handlers are
 * mapped to task names only where a worker is built (handlers.ts).
 */
export interface TaskDeclaration {
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
  /**
   * False when a completed job's record tells nothing that is not kept elsewhere, so it is removed
   * once done rather than kept for `pam inspect` (default: kept, see RETENTION).
   */
  keptWhenDone?: false
  /**
   * Set when a run that failed for good because a store was away loses nothing: why its work
   * comes back by itself. Operators are not told of each such job (the outage is one alert).
   */
  recovers?: string
}

const MINUTE = 60_000

/**
 * A send to a traveller: behind their own evaluation, ahead of sweep pages (someone is waiting for
 * it); retried on the channels' transient errors.
 */
const SEND: TaskDeclaration = {
  queue: 'notifications',
  priority: 2,
  attempts: DELIVERY_ATTEMPTS,
  backoffMs: 5_000,
  backoffCapMs: 5 * MINUTE,
  timeoutMs: MINUTE,
  exclusive: false,
}

/** The three tasks of every monitor: evaluate one user after a write, sweep what changed, one sweep page. */
const MONITOR_TASKS = {
  evaluate: {
    // Ahead of sweep pages: a traveller who just wrote is waiting for the answer.
    priority: 2,
    attempts: 5,
    backoffMs: 1_000,
    backoffCapMs: MINUTE,
    timeoutMs: MINUTE,
    exclusive: false,
    recovers: "the write's evaluation mark stays until an evaluation is applied: the drainer evaluates it",
  },
  sweep: {
    priority: 5,
    attempts: 3,
    backoffMs: 5_000,
    backoffCapMs: MINUTE,
    timeoutMs: 5 * MINUTE,
    // A sweep still enumerating when the next tick comes is not started again.
    exclusive: true,
  },
  page: {
    priority: 5,
    attempts: 5,
    backoffMs: 2_000,
    backoffCapMs: 2 * MINUTE,
    timeoutMs: 5 * MINUTE,
    exclusive: false,
    // Its outcome is counted in its sweep's run (monitor_runs); the record would keep 500 user ids.
    keptWhenDone: false,
  },
} satisfies Record<string, Omit<TaskDeclaration, 'queue'>>

/**
 * A drainer: a frequent, exclusive pass that only finds work whose own job is late or lost and
 * queues it. Ahead of everything, no retry (the next tick is seconds away).
 */
const DRAIN: TaskDeclaration = {
  queue: 'notifications',
  priority: 1,
  attempts: 1,
  backoffMs: 1_000,
  backoffCapMs: 1_000,
  timeoutMs: MINUTE,
  exclusive: true,
  recovers: 'the next tick, seconds later, looks for the same work',
}

/** Every task PAM runs besides the monitors': name → queue, priority, retries, time limit, exclusivity. */
const TASKS = {
  'ops.ping': {
    queue: 'notifications',
    priority: 1,
    attempts: 1,
    backoffMs: 1_000,
    backoffCapMs: 1_000,
    timeoutMs: 10_000,
    exclusive: false,
  },
  'housekeeping.cleanup': {
    queue: 'maintenance',
    priority: 10,
    attempts: 5,
    backoffMs: 5_000,
    backoffCapMs: 5 * MINUTE,
    timeoutMs: 5 * MINUTE,
    exclusive: true,
  },
  // Ahead of everything else: it only finds late writes and queues their pages.
  'evaluations.drain': DRAIN,
  // The fast model rewrites an alert's text; the template is on screen meanwhile. Three tries
  // with backoff before the template stays (a provider's retry-after delays without a try).
  'ai.alert-text': {
    queue: 'notifications',
    priority: 4,
    attempts: 3,
    backoffMs: 2_000,
    backoffCapMs: 30_000,
    timeoutMs: MINUTE,
    exclusive: false,
  },
  'ai.briefing': {
    queue: 'analytics',
    priority: 6,
    attempts: 3,
    backoffMs: 10_000,
    backoffCapMs: 2 * MINUTE,
    timeoutMs: 2 * MINUTE,
    exclusive: false,
  },
  // Creates the daily briefings of the travellers whose morning it is, and queues them: a sweep
  // like the monitors', with their policy.
  'ai.briefings.sweep': { queue: 'analytics', ...MONITOR_TASKS.sweep },
  // Delivery (docs/alerts.md): one job per batch of alert changes; retries are the channels' transient errors.
  'notify.deliver': {
    ...SEND,
    recovers: 'an alert whose deliveries are missing, queued or held by a dead worker is queued again by notify.drain',
  },
  // Asks the owner of a traveller's new address to confirm it (the link in an email).
  'notify.confirm-email': SEND,
  // Finds alerts whose delivery job is late or lost and queues them.
  'notify.drain': DRAIN,
  'notify.digests': {
    queue: 'notifications',
    priority: 3,
    attempts: DELIVERY_ATTEMPTS,
    backoffMs: 10_000,
    backoffCapMs: 5 * MINUTE,
    timeoutMs: 5 * MINUTE,
    // Not exclusive: each digest is claimed on its own row, so a retry and the next tick can overlap.
    exclusive: false,
  },
} satisfies Record<string, TaskDeclaration>

export type MonitorTaskKind = keyof typeof MONITOR_TASKS
export const MONITOR_TASK_KINDS = Object.keys(MONITOR_TASKS) as MonitorTaskKind[]
/** A monitor's task, spelled as its registry entry spells it: `monitor.fuel.evaluate`. */
export type MonitorTaskName = `monitor.${string}.${MonitorTaskKind}`
export type FixedTaskName = keyof typeof TASKS
export type TaskName = FixedTaskName | MonitorTaskName

export const isFixedTask = (task: string): task is FixedTaskName => Object.hasOwn(TASKS, task)

const MONITOR_TASK = /^monitor\.([a-z][a-z0-9_]*)\.[a-z]+$/

/**
 * A task's declaration; a monitor's tasks take its queue and the policy of their kind. Undefined
 * for a name no task has (a monitor that is not registered in this process included).
 */
export function taskDeclaration(task: string): TaskDeclaration | undefined {
  if (isFixedTask(task)) return TASKS[task]
  const [, name] = MONITOR_TASK.exec(task) ?? []
  const monitor = name === undefined ? undefined : monitorNamed(name)
  const kind = MONITOR_TASK_KINDS.find((each) => monitor?.tasks[each] === task)
  return monitor && kind ? { queue: monitor.queue, ...MONITOR_TASKS[kind] } : undefined
}

/** The declaration of a task the code names; a monitor's task whose monitor is not registered is a bug. */
export function declarationOf(task: TaskName): TaskDeclaration {
  const declaration = taskDeclaration(task)
  if (!declaration) throw new Error(`no task ${task}: its monitor is not registered`)
  return declaration
}

export const isTaskName = (name: string): name is TaskName => taskDeclaration(name) !== undefined

/** Every task name, the registered monitors' included. */
export const taskNames = (): TaskName[] => [
  ...(Object.keys(TASKS) as FixedTaskName[]),
  ...monitors().flatMap((monitor) => MONITOR_TASK_KINDS.map((kind) => monitor.tasks[kind])),
]

/** Whether a run of `task` that failed because a store was away loses nothing (its `recovers`). */
export const recoversByItself = (task: string): boolean => taskDeclaration(task)?.recovers !== undefined

// The retry policy, in one place: what a job carries when it is added, and the delay the worker
// computes when it fails.

/** The backoff type PAM's jobs carry; the worker's strategy reads each task's declaration. */
export const BACKOFF_TYPE = 'pam-capped-exponential'

export function retryDelay(
  declaration: Pick<TaskDeclaration, 'backoffMs' | 'backoffCapMs'>,
  attemptsMade: number,
  random = Math.random(),
): number {
  const full = Math.min(declaration.backoffCapMs, declaration.backoffMs * 2 ** Math.max(0, attemptsMade - 1))
  return Math.round(full * (1 - random / 2))
}

/**
 * How long finished jobs are kept for `pam inspect` and the queue dashboard: completed ones about
 * a day, failed ones about two weeks; in Redis a count caps the memory they take, for the price of
 * a ZREMRANGEBYRANK. BullMQ's PostgreSQL backend enforces a count with two scans of the queue's
 * kept jobs at each completion (`DELETE … WHERE id NOT IN (the newest count)`): 20,000 rows a job
 * once 10,000 are kept, which made a full sweep there read 32 million rows where Redis mode read
 * 5. There retention is by age alone, completed jobs an hour. Its DELETE still reads the kept jobs
 * (its cached plan, about 400 blocks a completion with 2,000 kept in bench:scale): the fewer kept,
 * the cheaper every job, so a task whose outcome is stored elsewhere is not kept (keptWhenDone).
 */
export const RETENTION = {
  redis: {
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 14 * 24 * 3600, count: 50_000 },
  },
  postgres: {
    removeOnComplete: { age: 3600 },
    removeOnFail: { age: 14 * 24 * 3600 },
  },
} as const satisfies Record<string, Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'>>

/** The options every job of `task` is added with on a `backend`'s queues, by a producer or a schedule. */
export function jobOptions(task: TaskName, backend: keyof typeof RETENTION) {
  const { priority, attempts, keptWhenDone } = declarationOf(task)
  const { removeOnComplete, removeOnFail } = RETENTION[backend]
  return {
    priority,
    attempts,
    backoff: { type: BACKOFF_TYPE },
    removeOnComplete: keptWhenDone === false ? true : removeOnComplete,
    removeOnFail,
  } satisfies JobsOptions
}
