import { type Job, UnrecoverableError } from 'bullmq'
import type { PamWorker, QueueBackend } from '../backend/backend.js'
import type { Db } from '../db/database.js'
import type { Logger } from '../logger.js'
import type { JobOutcome, Metrics } from '../metrics/metrics.js'
import { acquireLease, releaseLease } from './lease-repository.js'
import type { QueueName } from './queues.js'
import { BACKOFF_TYPE, ROUTES, type Route, retryDelay } from './routing.js'
import type { MonitorServices } from './task.js'

export interface Consumer {
  workers: PamWorker[]
  /** Waits for active jobs up to `graceMs`, then forces; a forced job is re-run after the stall check. */
  close(graceMs: number): Promise<void>
}

export interface ConsumerOptions {
  backend: QueueBackend
  db: Db
  logger: Logger
  metrics: Metrics
  workerId: string
  queues: readonly QueueName[]
  concurrency: number
  /** How long a job's lock lasts without renewal; a killed worker's job is re-run after about this long. */
  lockDurationMs: number
  /** The routing table; tests pass their own tasks. */
  routes?: Readonly<Record<string, Route>>
  /** What the monitor tasks use besides the database. */
  services?: MonitorServices
}

export interface Skipped {
  skipped: true
  reason: string
}

// Per-minute counts of completed and failed jobs kept for `pam inspect stats` (one day).
const METRICS_MINUTES = 24 * 60
// An exclusive task's lease outlives its time limit a little, so a slow release cannot free it early.
const LEASE_MARGIN_MS = 60_000

/**
 * Runs a handler with its task's time limit and BullMQ's cancellation: the handler's signal aborts
 * and the job fails at once, even if the handler ignores the signal. The timer is cleared when the
 * job ends, so a busy worker does not hold one pending timer per recent job.
 */
async function runWithTimeLimit(
  route: Route,
  job: Job,
  run: (signal: AbortSignal) => Promise<unknown>,
  cancel?: AbortSignal,
): Promise<unknown> {
  const limit = new AbortController()
  const timer = setTimeout(
    () => limit.abort(new Error(`${job.name} exceeded its time limit of ${route.timeoutMs} ms`)),
    route.timeoutMs,
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
  const routes: Readonly<Record<string, Route>> = options.routes ?? ROUTES
  const routeOf = (name: string): Route | undefined => (Object.hasOwn(routes, name) ? routes[name] : undefined)
  const workers = options.queues.map((queue) => {
    const logger = options.logger.child({ queue, workerId })
    const processor = async (job: Job, _token?: string, signal?: AbortSignal) => {
      const route = routeOf(job.name)
      if (!route) throw new UnrecoverableError(`unknown task ${job.name} on queue ${queue}`)
      const jobLogger = logger.child({ jobId: job.id, task: job.name })
      const holder = { workerId, jobId: job.id ?? '' }
      if (route.exclusive && !(await acquireLease(db, job.name, holder, route.timeoutMs + LEASE_MARGIN_MS))) {
        jobLogger.info('skipped: a run of this task is still in progress')
        return { skipped: true, reason: 'a run of this task is still in progress' } satisfies Skipped
      }
      try {
        return await runWithTimeLimit(
          route,
          job,
          (jobSignal) =>
            route.handler(job.data, {
              db,
              logger: jobLogger,
              workerId,
              jobId: job.id ?? '',
              signal: jobSignal,
              services: options.services,
            }),
          signal,
        )
      } finally {
        if (route.exclusive) await releaseLease(db, job.name, holder)
      }
    }
    const worker = backend.createWorker(queue, processor, {
      concurrency: options.concurrency,
      name: workerId,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.lockDurationMs,
      metrics: { maxDataPoints: METRICS_MINUTES },
      settings: {
        backoffStrategy: (attemptsMade, type, _error, job) => {
          const route = routeOf(job?.name ?? '')
          return type === BACKOFF_TYPE && route ? retryDelay(route, attemptsMade) : 0
        },
      },
    })
    const observe = (job: Job, outcome: JobOutcome) => {
      metrics.jobs.inc({ queue, task: job.name, outcome })
      if (job.processedOn && job.finishedOn) {
        metrics.jobDuration.observe({ queue, task: job.name }, (job.finishedOn - job.processedOn) / 1000)
      }
    }
    worker.on('error', (error) => logger.warn({ err: error.message }, 'worker error; it keeps retrying'))
    worker.on('completed', (job, result) => observe(job, (result as Skipped)?.skipped ? 'skipped' : 'completed'))
    worker.on('failed', (job, error) => {
      if (!job) return
      const final = job.attemptsMade >= (job.opts.attempts ?? 1) || error instanceof UnrecoverableError
      observe(job, final ? 'failed' : 'retried')
      logger.warn(
        { jobId: job.id, task: job.name, attemptsMade: job.attemptsMade, final, err: error.message },
        final ? 'job failed for good' : 'job failed; it will be retried',
      )
    })
    return worker
  })

  return {
    workers,
    async close(graceMs) {
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
