import { type Job, UnrecoverableError } from 'bullmq'
import type { PamWorker, QueueBackend } from '../backend/backend.js'
import type { Db } from '../db/database.js'
import type { Logger } from '../logger.js'
import type { QueueName } from './queues.js'
import { isTaskName, ROUTES } from './routing.js'

export interface Consumer {
  workers: PamWorker[]
  /** Waits for active jobs up to `graceMs`, then forces; a forced job is re-run after the stall check. */
  close(graceMs: number): Promise<void>
}

/** Starts one BullMQ worker per queue; each job is dispatched to its task's handler by name. */
export function startConsumer(options: {
  backend: QueueBackend
  db: Db
  logger: Logger
  workerId: string
  queues: readonly QueueName[]
  concurrency: number
}): Consumer {
  const { backend, db, workerId } = options
  const workers = options.queues.map((queue) => {
    const logger = options.logger.child({ queue, workerId })
    const processor = async (job: Job, _token?: string, signal?: AbortSignal) => {
      if (!isTaskName(job.name)) throw new UnrecoverableError(`unknown task ${job.name} on queue ${queue}`)
      const route = ROUTES[job.name]
      const limit = AbortSignal.timeout(route.timeoutMs)
      const jobSignal = signal ? AbortSignal.any([signal, limit]) : limit
      const jobLogger = logger.child({ jobId: job.id, task: job.name })
      const run = route.handler(job.data, {
        db,
        logger: jobLogger,
        workerId,
        jobId: job.id ?? '',
        signal: jobSignal,
      })
      return await Promise.race([
        run,
        new Promise<never>((_, reject) =>
          jobSignal.addEventListener(
            'abort',
            () => reject(new Error(`${job.name} exceeded its time limit of ${route.timeoutMs} ms or was cancelled`)),
            { once: true },
          ),
        ),
      ])
    }
    const worker = backend.createWorker(queue, processor, {
      concurrency: options.concurrency,
      name: workerId,
    })
    worker.on('error', (error) => logger.warn({ err: error.message }, 'worker error; it keeps retrying'))
    worker.on('failed', (job, error) =>
      logger.warn(
        { jobId: job?.id, task: job?.name, attemptsMade: job?.attemptsMade, err: error.message },
        'job failed',
      ),
    )
    return worker
  })

  return {
    workers,
    async close(graceMs) {
      let timer: NodeJS.Timeout | undefined
      const graceful = Promise.all(workers.map((worker) => worker.close()))
      const expired = new Promise<'expired'>((resolve) => {
        timer = setTimeout(() => resolve('expired'), graceMs)
      })
      if ((await Promise.race([graceful, expired])) === 'expired') {
        options.logger.warn({ graceMs }, 'active jobs did not finish in time; forcing the workers closed')
        await Promise.all(workers.map((worker) => worker.close(true)))
      }
      clearTimeout(timer)
    },
  }
}
