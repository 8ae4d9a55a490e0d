import { monitors } from '../monitoring/registry.js'
import { type PayloadOf, parsePayload } from './payloads.js'
import type { TaskContext, TaskHandler } from './task.js'
import { declarationOf, type TaskDeclaration, type TaskName } from './task-declarations.js'
import { alertTextTask, briefingSweepTask, briefingTask } from './tasks/ai-tasks.js'
import { housekeeping } from './tasks/housekeeping.js'
import { drainTask, evaluateTask, pageTask, sweepTask } from './tasks/monitor-tasks.js'
import { confirmEmailTask, deliverTask, digestsTask, drainDeliveriesTask } from './tasks/notify-tasks.js'
import { ping } from './tasks/ping.js'

/** A task as a worker runs it: its declaration, and its code behind the check of its payload. */
export interface RunnableTask extends TaskDeclaration {
  /** Runs the task on a job's data as it arrives from the queue (checked here, not trusted). */
  run(data: unknown, context: TaskContext): Promise<unknown>
}

/** The one place a job's data becomes a typed payload: checked against the task's schema, once. */
const runnable = <T extends TaskName>(task: T, handler: TaskHandler<PayloadOf<T>>): [TaskName, RunnableTask] => [
  task,
  { ...declarationOf(task), run: (data, context) => handler(parsePayload(task, data), context) },
]

/**
 * Every task with its handler, as the worker role hands them to the consumer: built when a worker
 * is, so a registered monitor's tasks are there. Only the worker imports this, so other processes
 * never load task code.
 */
export const runnableTasks = (): Readonly<Record<string, RunnableTask>> =>
  Object.fromEntries([
    runnable('ops.ping', ping),
    runnable('housekeeping.cleanup', housekeeping),
    runnable('evaluations.drain', drainTask),
    runnable('ai.alert-text', alertTextTask),
    runnable('ai.briefing', briefingTask),
    runnable('ai.briefings.sweep', briefingSweepTask),
    runnable('notify.deliver', deliverTask),
    runnable('notify.confirm-email', confirmEmailTask),
    runnable('notify.drain', drainDeliveriesTask),
    runnable('notify.digests', digestsTask),
    ...monitors().flatMap((monitor) => [
      runnable(monitor.tasks.evaluate, evaluateTask(monitor)),
      runnable(monitor.tasks.sweep, sweepTask(monitor)),
      runnable(monitor.tasks.page, pageTask(monitor)),
    ]),
  ])
