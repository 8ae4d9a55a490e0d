import type { TextGenerator } from '../ai/text-generator.js'
import type { DeliveryServices } from '../delivery/delivery-services.js'
import type { AlertChangeObserver } from '../monitoring/alerts/alert-store.js'
import type { MonitorProviders } from '../monitoring/monitor.js'
import type { Thresholds } from '../monitoring/registry.js'
import type { Bus } from '../platform/backend/backend.js'
import type { Db } from '../platform/db/database.js'
import type { Logger } from '../platform/logger.js'
import type { Evaluate } from './evaluation-trigger.js'
import type { Producer } from './producer.js'

/** What the monitor tasks need beyond the database: built by the worker role from deps. */
export interface MonitorServices extends MonitorProviders {
  bus: Bus
  thresholds: Thresholds
  enqueue: Producer['enqueue']
  /** Asks for a monitor's evaluation of a user (an overtaken evaluation asks again). */
  evaluate: Evaluate
  /** How long a write's own evaluation job has before the drainer evaluates it instead. */
  drainGraceMs: number
  /** What the tasks tell the metrics; absent where nobody counts (tests of the job machinery). */
  observers?: MonitorObservers
  /** The AI layer's text generator (alert text, briefings). */
  generate: TextGenerator
  /**
   * Whether a model is configured to write alert texts: without one an alert-text job could only
   * keep the template, so none is queued (a sweep's thousands of high alerts, each a job).
   */
  rewritesAlertTexts: boolean
  /** The local hour daily briefings are written at. */
  briefingLocalHour: number
}

export interface MonitorObservers {
  alertChanged: AlertChangeObserver
  /** Seconds from the write an evaluation read to the alert it created. */
  writeToAlert(seconds: number): void
  sweepFinished(monitor: string, outcome: 'ok' | 'degraded' | 'failed'): void
}

/** What every task handler receives besides its payload. */
export interface TaskContext {
  db: Db
  logger: Logger
  workerId: string
  jobId: string
  /** Aborted when the task's time limit passes or the worker is force-closed. */
  signal: AbortSignal
  /** Whether a failure of this run is retried (BullMQ attempts left). */
  retriesLeft: boolean
  /** Absent in consumers started without them (tests of the job machinery). */
  services?: MonitorServices
  /** The channels the notify.* tasks send with; absent where the worker was started without them. */
  delivery?: DeliveryServices
}

/** A task's code: it receives its payload already checked against the task's schema (payloads.ts). */
export type TaskHandler<P, R = unknown> = (payload: P, context: TaskContext) => Promise<R>

/** Thrown by a handler to run its job again after `delayMs`, without spending an attempt. */
export class DelayJob extends Error {
  constructor(readonly delayMs: number) {
    super(`run again in ${delayMs} ms`)
    this.name = 'DelayJob'
  }
}
