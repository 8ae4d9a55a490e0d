import type { JobType } from 'bullmq'
import type { PamQueue } from '../platform/backend/backend.js'
import type { QueueName } from '../platform/backend/queue-names.js'

/** What operators ask of the queues (`pam inspect`, /metrics), as plain data. */

export const COUNTED_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed', 'paused'] as const

export type Queues = ReadonlyMap<QueueName, PamQueue>

function selected(queues: Queues, only?: QueueName): [QueueName, PamQueue][] {
  return [...queues].filter(([name]) => !only || name === only)
}

export async function queueCounts(queues: Queues, only?: QueueName) {
  return Promise.all(
    selected(queues, only).map(async ([queue, q]) => ({
      queue,
      counts: (await q.getJobCounts(...(COUNTED_STATES as unknown as JobType[]))) as Record<string, number>,
    })),
  )
}

/**
 * The jobs a worker could start now, per queue: waiting, prioritized (BullMQ keeps those in a sorted
 * set, not in the wait list, and every PAM job carries a priority) and delayed ones already due (a
 * running worker promotes them within moments; with none running they stay delayed). What workers
 * are scaled on: active jobs are being served, and delayed ones not yet due ask for no worker.
 */
export async function queueBacklog(queues: Queues, now = Date.now()) {
  return Promise.all(
    selected(queues).map(async ([queue, q]) => {
      const [counts, dueDelayed] = await Promise.all([
        q.getJobCounts('waiting', 'prioritized'),
        // BullMQ counts the delayed jobs due strictly before the cutoff: one due this millisecond is due.
        q.getDelayedCount(now + 1),
      ])
      const waiting = counts.waiting ?? 0
      const prioritized = counts.prioritized ?? 0
      return { queue, waiting, prioritized, dueDelayed, backlog: waiting + prioritized + dueDelayed }
    }),
  )
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0)

/** Counts by state, plus completed and failed in the last minute and hour (BullMQ's per-minute metrics). */
export async function queueStats(queues: Queues, only?: QueueName) {
  const counts = await queueCounts(queues, only)
  return Promise.all(
    counts.map(async ({ queue, counts }) => {
      const q = queues.get(queue) as PamQueue
      const [completed, failed] = await Promise.all([q.getMetrics('completed', 0, 59), q.getMetrics('failed', 0, 59)])
      const lastHour = { completed: sum(completed.data), failed: sum(failed.data) }
      const finished = lastHour.completed + lastHour.failed
      return {
        queue,
        counts,
        lastMinute: { completed: completed.data[0] ?? 0, failed: failed.data[0] ?? 0 },
        lastHour,
        failureRate: finished === 0 ? 0 : lastHour.failed / finished,
      }
    }),
  )
}

/** Runs `read` on each selected queue at once and joins the rows. */
async function fromEachQueue<T>(
  queues: Queues,
  only: QueueName | undefined,
  read: (queue: QueueName, q: PamQueue) => Promise<T[]>,
) {
  return (await Promise.all(selected(queues, only).map(([queue, q]) => read(queue, q)))).flat()
}

const isoTime = (ms: number | undefined | null) => (ms ? new Date(ms).toISOString() : null)

export function activeJobs(queues: Queues, only?: QueueName) {
  return fromEachQueue(queues, only, async (queue, q) =>
    (await q.getActive(0, 199)).map((job) => ({
      id: job.id,
      queue,
      task: job.name,
      startedAt: isoTime(job.processedOn),
      attemptsMade: job.attemptsMade,
    })),
  )
}

export function failedJobs(queues: Queues, only?: QueueName) {
  return fromEachQueue(queues, only, async (queue, q) =>
    (await q.getFailed(0, 199)).map((job) => ({
      id: job.id,
      queue,
      task: job.name,
      reason: job.failedReason,
      attemptsMade: job.attemptsMade,
      failedAt: isoTime(job.finishedOn),
    })),
  )
}

export function scheduledJobs(queues: Queues, only?: QueueName) {
  return fromEachQueue(queues, only, async (queue, q) =>
    (await q.getJobSchedulers()).map((scheduler) => ({
      id: scheduler.key,
      queue,
      task: scheduler.name,
      cadence: scheduler.pattern ?? `every ${scheduler.every} ms`,
      tz: scheduler.tz ?? 'UTC',
      nextRunAt: isoTime(scheduler.next),
    })),
  )
}

/** Every job with this id: BullMQ numbers jobs per queue, so one id may stand in several queues. */
export function findJobs(queues: Queues, id: string, only?: QueueName) {
  return fromEachQueue(queues, only, async (queue, q) => {
    const job = await q.getJob(id)
    return job ? [{ queue, job }] : []
  })
}
