import { MONITOR_LIST, type MonitorTaskName } from '../monitoring/registry.js'
import type { TaskHandler } from './task.js'
import { TASKS, type TaskDeclaration, type TaskName } from './task-declarations.js'
import { alertTextTask, briefingSweepTask, briefingTask } from './tasks/ai-tasks.js'
import { housekeeping } from './tasks/housekeeping.js'
import { drainTask, evaluateTask, pageTask, sweepTask } from './tasks/monitor-tasks.js'
import { confirmEmailTask, deliverTask, digestsTask, drainDeliveriesTask } from './tasks/notify-tasks.js'
import { ping } from './tasks/ping.js'

/** A task as a worker runs it: its declaration and the code that handles it. */
export interface RunnableTask extends TaskDeclaration {
  // Each task's payload type is its own; the consumer passes job data it cannot type.
  // biome-ignore lint/suspicious/noExplicitAny: see above
  handler: TaskHandler<any, unknown>
}

const monitorHandlers = Object.fromEntries(
  MONITOR_LIST.flatMap((monitor) => [
    [monitor.tasks.evaluate, evaluateTask(monitor)],
    [monitor.tasks.sweep, sweepTask(monitor)],
    [monitor.tasks.page, pageTask(monitor)],
  ]),
) as Record<MonitorTaskName, RunnableTask['handler']>

/** Task name → handler. Only the worker imports this, so other processes never load task code. */
const HANDLERS = {
  'ops.ping': ping,
  'housekeeping.cleanup': housekeeping,
  'evaluations.drain': drainTask,
  'ai.alert-text': alertTextTask,
  'ai.briefing': briefingTask,
  'ai.briefings.sweep': briefingSweepTask,
  'notify.deliver': deliverTask,
  'notify.confirm-email': confirmEmailTask,
  'notify.drain': drainDeliveriesTask,
  'notify.digests': digestsTask,
  ...monitorHandlers,
} satisfies Record<TaskName, RunnableTask['handler']>

/** Every task with its handler, as the worker role hands them to the consumer. */
export const RUNNABLE_TASKS = Object.fromEntries(
  (Object.keys(TASKS) as TaskName[]).map((name) => [name, { ...TASKS[name], handler: HANDLERS[name] }]),
) as Record<TaskName, RunnableTask>
