import { DelayedError, type Job, UnrecoverableError } from 'bullmq'
import type { DeliveryServices } from '../delivery/delivery-services.js'
import type { PamWorker, QueueBackend } from '../platform/backend/backend.js'
import type { QueueName } from '../platform/backend/queue-names.js'
import type { Db } from '../platform/db/database.js'
import { messageOf } from '../platform/errors/error-message.js'
import { type ErrorReporter, noErrorReporter } from '../platform/errors/error-reporter.js'
import { markOutage } from '../platform/errors/outage-errors.js'
import { isUuid } from '../platform/ids.js'
import type { Logger } from '../platform/logger.js'
import type { JobOutcome, Metrics } from '../platform/metrics.js'
import type { RunnableTask } from './handlers.js'
import { type Queues, queueBacklog } from './inspection.js'
import { acquireLease, releaseLease } from './lease-repository.js'
import { recordScheduleRun } from './schedule-run-repository.js'
import type { MonitorServices } from './task.js'
import { DelayJob } from './task.js'
import { BACKOFF_TYPE, retryDelay } from './task-declarations.js'
import { type StallSample, type StallWatch, WORKER_RETRY_DELAY_MS, watchStall } from './worker-stall.js'

export interface Consumer {
  /** Waits for active jobs up to `graceMs`, then forces; a forced job is re-run after the stall check. */
  close(graceMs: number): Promise<void>
}

export interface ConsumerOptions {
  backend: QueueBackend
  db: Db
  logger: Logger
  metrics: Metrics
  /** Where a job that failed for good is reported; default: nowhere. */
  errors?: ErrorReporter
  workerId: string
  queues: readonly QueueName[]
  concurrency: number
  /** How long a job's lock lasts without renewal; a killed worker's job is re-run after about this long. */
  lockDurationMs: number
  /** The tasks this worker runs, by name (handlers.ts' runnableTasks(); tests pass their own). */
  tasks: Readonly<Record<string, RunnableTask>>
  /** What the monitor tasks use besides the database. */
  services?: MonitorServices
  /** What the notify.* tasks send with. */
  delivery?: DeliveryServices
  /**
   * The producer's queues, through which the stall check reads each queue's backlog (Redis mode;
   * without them, no check).
   */
  producerQueues?: Queues
}

export interface Skipped {
  skipped: true
  reason: string
}

// Per-minute counts of completed and failed jobs kept for `pam inspect stats` (one day).
const METRICS_MINUTES = 24 * 60
// An exclusive task's lease outlives its time limit a little, so a slow release cannot free it early.
const LEASE_MARGIN_MS = 60_000
/** How many times a job may ask to run later (DelayJob) before asking again counts as a failure. */
const MAX_DELAYS = 10
/** How often each queue's worker is looked at for a stall (worker-stall.ts). */
const STALL_CHECK_MS = 5_000

/**
 * Runs a handler with its task's time limit and BullMQ's cancellation: the handler's signal aborts
 * and the job fails at once, even if the handler ignores the signal. The timer is cleared when the
 * job ends, so a busy worker does not hold one pending timer per recent job.
 */
async function runWithTimeLimit(
  task: RunnableTask,
  job: Job,
  run: (signal: AbortSignal) => Promise<unknown>,
  cancel?: AbortSignal,
): Promise<unknown> {
  const limit = new AbortController()
  const timer = setTimeout(
    () => limit.abort(new Error(`${job.name} exceeded its time limit of ${task.timeoutMs} ms`)),
    task.timeoutMs,
  )
  const onCancel = () => limit.abort(new Error(`${job.name} was cancelled`))
  cancel?.addEventListener('abort', onCancel, { once: true })
  const aborted = new Promise<never>((_, reject) =>
    limit.signal.addEventListener('abort', () => reject(limit.signal.reason), { once: true }),
  )
  try {
    return await Promise.race([run(limit.signal), aborted])
  } finally {
    clearTimeout(timer)
    cancel?.removeEventListener('abort', onCancel)
  }
}

/** Starts one BullMQ worker per queue; each job is dispatched to its task's handler by name. */
export function startConsumer(options: ConsumerOptions): Consumer {
  const { backend, db, workerId, metrics } = options
  const { tasks } = options
  const errors = options.errors ?? noErrorReporter
  const taskOf = (name: string): RunnableTask | undefined => (Object.hasOwn(tasks, name) ? tasks[name] : undefined)
  const slots = options.queues.map((queue) => {
    const logger = options.logger.child({ queue, workerId })
    const run = async (job: Job, token?: string, signal?: AbortSignal) => {
      const task = taskOf(job.name)
      if (!task) throw new UnrecoverableError(`unknown task ${job.name} on queue ${queue}`)
      // A scheduled run: when it started is what the missed-schedule check and its metric read.
      if (job.repeatJobKey && job.attemptsMade === 0) {
        await recordScheduleRun(db, job.repeatJobKey).catch((error) =>
          logger.warn({ err: messageOf(error) }, 'schedule run not recorded'),
        )
      }
      // A job about one user says so on every line it logs, like that user's requests do.
      const userId = (job.data as { userId?: unknown } | undefined)?.userId
      const jobLogger = logger.child({ jobId: job.id, task: job.name, ...(isUuid(userId) && { userId }) })
      const holder = { workerId, jobId: job.id ?? '' }
      if (task.exclusive && !(await acquireLease(db, job.name, holder, task.timeoutMs + LEASE_MARGIN_MS))) {
        jobLogger.info('skipped: a run of this task is still in progress')
        return { skipped: true, reason: 'a run of this task is still in progress' } satisfies Skipped
      }
      try {
        return await runWithTimeLimit(
          task,
          job,
          (jobSignal) =>
            task.run(job.data, {
              db,
              logger: jobLogger,
              workerId,
              jobId: job.id ?? '',
              signal: jobSignal,
              retriesLeft: job.attemptsMade + 1 < (job.opts.attempts ?? 1),
              services: options.services,
              delivery: options.delivery,
            }),
          signal,
        )
      } catch (error) {
        // The task asked to run again later (a provider's retry-after): back to delayed, no attempt spent.
        if (!(error instanceof DelayJob)) throw error
        // A provider that answers "later" for ever must not keep the job alive for ever: past
        // MAX_DELAYS runs that spent no attempt, the delay is a failure like any other.
        if (job.attemptsStarted - job.attemptsMade - 1 >= MAX_DELAYS) {
          throw new Error(`${error.message}: delayed ${MAX_DELAYS} times already`)
        }
        jobLogger.info({ delayMs: error.delayMs }, 'delayed: asked to run again later')
        await job.moveToDelayed(Date.now() + error.delayMs, token)
        throw new DelayedError()
      } finally {
        if (task.exclusive) await releaseLease(db, job.name, holder)
      }
    }
    const observe = (job: Job, outcome: JobOutcome) => {
      metrics.jobs.inc({ queue, task: job.name, outcome })
      if (job.processedOn && job.finishedOn) {
        metrics.jobDuration.observe({ queue, task: job.name }, (job.finishedOn - job.processedOn) / 1000)
      }
    }
    /**
     * A worker for the queue, with its listeners and its own counts for the stall check (what it
     * runs now, what it has started ever): the first, or one replacing a stuck one.
     */
    const spawn = () => {
      let running = 0
      let started = 0
      const processor = (job: Job, token?: string, signal?: AbortSignal) => {
        running += 1
        started += 1
        // A failure because a store was away says so in the job's reason (the lease and the run's
        // record are PostgreSQL's too): operator alerts tell of the outage once, not of each job.
        return run(job, token, signal)
          .catch((error: unknown) => {
            throw markOutage(error)
          })
          .finally(() => {
            running -= 1
          })
      }
      const worker = backend.createWorker(queue, processor, {
        runRetryDelay: WORKER_RETRY_DELAY_MS,
        concurrency: options.concurrency,
        name: workerId,
        lockDuration: options.lockDurationMs,
        stalledInterval: options.lockDurationMs,
        metrics: { maxDataPoints: METRICS_MINUTES },
        settings: {
          backoffStrategy: (attemptsMade, type, _error, job) => {
            const task = taskOf(job?.name ?? '')
            return type === BACKOFF_TYPE && task ? retryDelay(task, attemptsMade) : 0
          },
        },
      })
      worker.on('error', (error) => logger.warn({ err: error.message }, 'worker error; it keeps retrying'))
      worker.on('completed', (job, result) => observe(job, (result as Skipped)?.skipped ? 'skipped' : 'completed'))
      worker.on('failed', (job, error) => {
        if (!job) return
        const final = job.attemptsMade >= (job.opts.attempts ?? 1) || error instanceof UnrecoverableError
        observe(job, final ? 'failed' : 'retried')
        if (final) {
          // Unknown names stay out of the labels: anyone who can queue a job could make them unbounded.
          const task = taskOf(job.name) ? job.name : 'unknown'
          metrics.jobsFailedFinal.inc({ queue, task })
          errors.jobFailedForGood(error, { queue, task, jobId: job.id ?? '', attemptsMade: job.attemptsMade })
        }
        logger.warn(
          { jobId: job.id, task: job.name, attemptsMade: job.attemptsMade, final, err: error.message },
          final ? 'job failed for good' : 'job failed; it will be retried',
        )
      })
      return {
        worker,
        sample: (ready: number): StallSample => ({ at: Date.now(), ready, running, started }),
        watch: undefined as StallWatch | undefined,
      }
    }
    return { queue, logger, spawn, current: spawn() }
  })

  // Redis mode: each queue's worker is looked at every few seconds, and one stuck
  // (worker-stall.ts) is retired and replaced by a new one. It runs no job, so none is abandoned;
  // a result it was still writing back (a store error retried for 15 s) is lost with it and its job
  // run again once its lock expires, as after a worker's death, which every task already survives.
  // Postgres-only mode's worker is woken by the database and has no such failure.
  let closing = false
  let looking = false
  const lookForStalls = async (queues: Queues, retire: (worker: PamWorker) => void) => {
    if (looking) return
    looking = true
    try {
      // Cannot be read (the store is away): nothing to judge by, so every watch starts over.
      const backlog = new Map((await queueBacklog(queues).catch(() => [])).map((q) => [q.queue, q.backlog]))
      for (const slot of slots) {
        if (closing) return
        const ready = backlog.get(slot.queue) ?? 0
        const { watch, stuckForMs } = watchStall(slot.current.watch, slot.current.sample(ready))
        slot.current.watch = watch
        if (stuckForMs === undefined) continue
        // A paused queue (the dashboard can pause one) keeps its prioritized jobs ready and untaken.
        const paused = await queues
          .get(slot.queue)
          ?.isPaused()
          .catch(() => true)
        if (paused !== false || closing) continue
        slot.logger.warn({ ready, stuckForMs }, 'the worker took no job while jobs were ready; replacing it')
        retire(slot.current.worker)
        slot.current = slot.spawn()
      }
    } finally {
      looking = false
    }
  }
  const { producerQueues } = options
  const retire = backend.retireWorker
  const stallChecks =
    producerQueues &&
    retire &&
    setInterval(
      () =>
        lookForStalls(producerQueues, retire).catch((error: unknown) =>
          options.logger.warn({ err: messageOf(error) }, 'could not look for stuck workers'),
        ),
      STALL_CHECK_MS,
    ).unref()

  return {
    async close(graceMs) {
      closing = true
      clearInterval(stallChecks)
      const workers = slots.map((slot) => slot.current.worker)
      // BullMQ's Worker.close keeps its first call's promise: close(true) after close() would
      // wait for the jobs just the same. So the waiting is done by pause() (no new jobs, wait for
      // the active ones), and close is called once, forced when the grace ran out.
      let timer: NodeJS.Timeout | undefined
      const finished = Promise.all(workers.map((worker) => worker.pause())).then(() => 'finished' as const)
      const expired = new Promise<'expired'>((resolve) => {
        timer = setTimeout(() => resolve('expired'), graceMs)
      })
      const force = (await Promise.race([finished, expired])) === 'expired'
      clearTimeout(timer)
      // A forced job keeps its active state and is re-run by another worker after the stall check.
      if (force) options.logger.warn({ graceMs }, 'active jobs did not finish in time; forcing the workers closed')
      await Promise.all(workers.map((worker) => worker.close(force)))
    },
  }
}
