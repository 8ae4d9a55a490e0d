import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { isPayloadOf, payloadProblems } from '../../jobs/payloads.js'
import { createProducer } from '../../jobs/producer.js'
import { isTaskName, RETENTION, taskNames } from '../../jobs/task-declarations.js'
import type { Config } from '../../platform/config.js'
import { messageOf } from '../../platform/errors/error-message.js'
import { UsageError, withOpsDeps } from './ops-deps.js'

/** `pam call <task> [--args JSON] [--wait] [--timeout SECONDS]`: runs any task by name. */
export async function runCallCommand(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      args: { type: 'string', default: '{}' },
      wait: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '60' },
    },
    allowPositionals: true,
  })
  const task = positionals[0] ?? ''
  if (!isTaskName(task)) throw new UsageError(`unknown task '${task}' (tasks: ${taskNames().join(', ')})`)
  let payload: unknown
  try {
    payload = JSON.parse(values.args)
  } catch (error) {
    throw new UsageError(`--args is not JSON: ${messageOf(error)}`)
  }
  // Refused here, naming the field, rather than queued as a job that can only fail.
  if (!isPayloadOf(task, payload)) {
    throw new UsageError(`--args does not fit ${task}: ${payloadProblems(task, payload).join('; ')}`)
  }
  const timeoutMs = Number(values.timeout) * 1000
  if (!(timeoutMs > 0)) throw new UsageError('--timeout must be a positive number of seconds')

  await withOpsDeps(config, 'call', async (deps) => {
    const producer = createProducer(deps.backend, deps.logger)
    try {
      // Kept once done as the backend keeps jobs, whatever its task's own rule (a sweep's page is not
      // kept): --wait reads its result.
      const { id, queue } = await producer.enqueue(task, payload, {
        removeOnComplete: RETENTION[deps.backend.kind].removeOnComplete,
      })
      process.stderr.write(`queued ${task} as job ${id} on ${queue}\n`)
      if (!values.wait) {
        process.stdout.write(`${id}\n`)
        return
      }
      const deadline = Date.now() + timeoutMs
      const q = producer.queues.get(queue)
      for (;;) {
        const state = await q?.getJobState(id)
        // The job is read after it finished: a copy read earlier holds no result yet.
        const job = state === 'completed' || state === 'failed' ? await q?.getJob(id) : undefined
        if (job && state === 'completed') {
          process.stdout.write(`${JSON.stringify(job.returnvalue)}\n`)
          return
        }
        if (job && state === 'failed')
          throw new Error(`job ${id} failed after ${job.attemptsMade} attempt(s): ${job.failedReason}`)
        if (Date.now() > deadline)
          throw new Error(
            `job ${id} did not finish within ${values.timeout} s (state: ${state}); is a worker running for ${queue}?`,
          )
        await sleep(50)
      }
    } finally {
      await producer.close()
    }
  })
}
