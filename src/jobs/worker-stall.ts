/**
 * Whether a queue worker has stopped taking jobs. BullMQ's worker can stop for good after a Redis
 * failover, without an error: its blocking connection's watchdog waits for an `end` event that
 * never comes (taskforcesh/bullmq#4065, #4138; seen here on a Redis Cluster whose master was
 * killed). A healthy idle worker takes a ready job within its block timeout (5 s), or after a
 * failed fetch within its retry delay, so ready jobs left untaken much longer than both by a
 * worker that runs nothing mean it is stuck.
 */

/**
 * How long a worker waits before trying again after a store error (BullMQ's runRetryDelay, 15 s by
 * default): short, so a healthy worker is never idle for long after an outage, and a stuck one
 * can be told from it.
 */
export const WORKER_RETRY_DELAY_MS = 3_000

/** How long an idle worker may leave ready jobs untaken before it counts as stuck. */
export const STALL_MS = 5 * WORKER_RETRY_DELAY_MS

/** What one look at a worker and its queue saw. */
export interface StallSample {
  at: number
  /** Jobs the worker could start now: its queue's backlog (inspection.ts' queueBacklog). */
  ready: number
  /** Jobs this worker is running. */
  running: number
  /** How many jobs this worker has started, ever. */
  started: number
}

/** Since when ready jobs have been left untaken by the idle worker, and how many it had started then. */
export interface StallWatch {
  since: number
  started: number
}

/**
 * The next watch given a sample, and how long the worker has been stuck if it is: ready jobs
 * throughout, not one job running or started for STALL_MS. A worker running a job is never
 * called stuck (replacing it would abandon the job); anything else starts the watch over.
 */
export function watchStall(
  watch: StallWatch | undefined,
  sample: StallSample,
): { watch: StallWatch | undefined; stuckForMs?: number } {
  if (sample.ready === 0 || sample.running > 0) return { watch: undefined }
  if (!watch || watch.started !== sample.started) return { watch: { since: sample.at, started: sample.started } }
  const idleMs = sample.at - watch.since
  return idleMs >= STALL_MS ? { watch, stuckForMs: idleMs } : { watch }
}
