import type { Db } from '../db/database.js'
import type { Logger } from '../logger.js'

/** What every task handler receives besides its payload. */
export interface TaskContext {
  db: Db
  logger: Logger
  workerId: string
  jobId: string
  /** Aborted when the task's time limit passes or the worker is force-closed. */
  signal: AbortSignal
}

export type TaskHandler<P = unknown, R = unknown> = (payload: P, context: TaskContext) => Promise<R>
