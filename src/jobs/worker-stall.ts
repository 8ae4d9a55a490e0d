/**
 * Whether a queue worker has stopped taking jobs. BullMQ's worker can stop for good after a Redis
 * failover, without an error: its blocking connection's watchdog waits for an `end` event that
 * never comes (taskforcesh/bullmq#4065, #4138; seen here on a Redis Cluster whose master was
 * killed). A healthy worker with room for a job takes a ready one within its block timeout (5 s),
 * so ready jobs left untaken much longer, by a worker with a free slot that started nothing, mean
 * it is stuck.
 */

/** How long a worker with room may leave ready jobs untaken before it counts as stuck. */
export const STALL_MS = 15_000

/** What one look at a worker and its queue saw. */
export interface StallSample {
  at: number
  /** Jobs ready to be taken now (waiting or prioritized; not delayed, not paused). */
  ready: number
  /** Jobs this worker is running. */
  running: number
  concurrency: number
  /** How many jobs this worker has started, ever. */
  started: number
}

/** Since when ready jobs have been left untaken with room for them, and how many the worker had started then. */
export interface StallWatch {
  since: number
  started: number
}

/**
 * The next watch given a sample, and whether the worker is stuck: ready jobs throughout, a free
 * slot throughout and not one job started for STALL_MS. Anything else starts the watch over.
 */
export function watchStall(
  watch: StallWatch | undefined,
  sample: StallSample,
): { watch: StallWatch | undefined; stuck: boolean } {
  if (sample.ready === 0 || sample.running >= sample.concurrency) return { watch: undefined, stuck: false }
  if (!watch || watch.started !== sample.started) {
    return { watch: { since: sample.at, started: sample.started }, stuck: false }
  }
  return { watch, stuck: sample.at - watch.since >= STALL_MS }
}
