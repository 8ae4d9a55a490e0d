import { parseArgs } from 'node:util'
import type { Config } from '../config.js'
import { findJob } from '../jobs/inspection.js'
import { createProducer } from '../jobs/producer.js'
import { parseQueue } from './inspect.js'
import { UsageError, withOpsDeps } from './ops-deps.js'

/** `pam retry <jobId>` or `pam retry --all-failed [--queue Q]`: failed jobs go back to waiting. */
export async function runRetryCommand(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { 'all-failed': { type: 'boolean', default: false }, queue: { type: 'string' } },
    allowPositionals: true,
  })
  const id = positionals[0]
  if (!id === !values['all-failed']) throw new UsageError('usage: pam retry <jobId> | --all-failed [--queue Q]')
  const only = parseQueue(values.queue)

  await withOpsDeps(config, 'retry', async (deps) => {
    const producer = createProducer(deps.backend)
    try {
      if (id) {
        const found = await findJob(producer.queues, id)
        if (!found) throw new Error(`no job ${id} in any queue`)
        const state = await found.job.getState()
        if (state !== 'failed') throw new Error(`job ${id} is ${state}, not failed`)
        await found.job.retry('failed')
        process.stdout.write(`retrying job ${id} (${found.job.name}) on ${found.queue}\n`)
        return
      }
      for (const [queue, q] of producer.queues) {
        if (only && queue !== only) continue
        const failed = await q.getJobCountByTypes('failed')
        await q.retryJobs({ state: 'failed' })
        process.stdout.write(`${queue}: retrying ${failed} failed job(s)\n`)
      }
    } finally {
      await producer.close()
    }
  })
}
