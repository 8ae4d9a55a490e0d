import type { JobsOptions } from 'bullmq'
import type { PamQueue, QueueBackend } from '../platform/backend/backend.js'
import { QUEUE_NAMES, type QueueName } from '../platform/backend/queue-names.js'
import type { Logger } from '../platform/logger.js'
import type { PayloadOf } from './payloads.js'
import { declarationOf, jobOptions, type TaskName } from './task-declarations.js'

export interface Producer {
  queues: ReadonlyMap<QueueName, PamQueue>
  /** Adds a job for `task`, with the payload its declaration takes, on its queue with its retry policy. */
  enqueue<T extends TaskName>(
    task: T,
    payload: PayloadOf<T>,
    options?: Pick<JobsOptions, 'jobId' | 'delay' | 'deduplication' | 'removeOnComplete'>,
  ): Promise<{ id: string; queue: QueueName }>
  /** The options a job of `task` is added with on these queues (a schedule's template takes them too). */
  optionsOf(task: TaskName): ReturnType<typeof jobOptions>
  close(): Promise<void>
}

export function createProducer(backend: QueueBackend, logger: Logger): Producer {
  const queues = new Map(
    QUEUE_NAMES.map((name) => {
      const queue = backend.createQueue(name)
      // Without a listener BullMQ prints connection errors to the console; they are expected
      // while a store restarts and the connection recovers by itself.
      queue.on('error', (error) => logger.warn({ queue: name, err: error.message }, 'queue connection error'))
      return [name, queue] as const
    }),
  )
  const optionsOf = (task: TaskName) => jobOptions(task, backend.kind)
  return {
    queues,
    optionsOf,
    async enqueue(task, payload, options = {}) {
      const queue = declarationOf(task).queue
      const job = await queues.get(queue)?.add(task, payload, { ...optionsOf(task), ...options })
      if (!job?.id) throw new Error(`queue ${queue} did not accept ${task}`)
      return { id: job.id, queue }
    },
    async close() {
      await Promise.all([...queues.values()].map((queue) => queue.close()))
    },
  }
}
