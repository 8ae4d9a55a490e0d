import { parseArgs } from 'node:util'
import { findJobs } from '../../jobs/inspection.js'
import { createProducer } from '../../jobs/producer.js'
import type { Config } from '../../platform/config.js'
import { parseQueue } from './inspect.js'
import { UsageError, withOpsDeps } from './ops-deps.js'

/** `pam retry <jobId> [--queue Q]` or `pam retry --all-failed [--queue Q]`: failed jobs go back to waiting. */
export async function runRetryCommand(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { 'all-failed': { type: 'boolean', default: false }, queue: { type: 'string' } },
    allowPositionals: true,
  })
  const id = positionals[0]
  if (!id === !values['all-failed'])
    throw new UsageError('usage: npx pam retry <jobId> [--queue Q] | --all-failed [--queue Q]')
  const only = parseQueue(values.queue)

  await withOpsDeps(config, 'retry', async (deps) => {
    const producer = createProducer(deps.backend, deps.logger)
    try {
      if (id) {
        const candidates = await findJobs(producer.queues, id, only)
        const states = await Promise.all(candidates.map(({ job }) => job.getState()))
        const failed = candidates.filter((_, i) => states[i] === 'failed')
        if (candidates.length === 0) throw new Error(`no job ${id}${only ? ` on ${only}` : ' in any queue'}`)
        if (failed.length === 0) throw new Error(`job ${id} is not failed (${states.join(', ')})`)
        if (failed.length > 1) throw new UsageError(`failed jobs with id ${id} on several queues: add --queue`)
        const [{ queue, job }] = failed as [(typeof failed)[number]]
        await job.retry('failed')
        process.stdout.write(`retrying job ${id} (${job.name}) on ${queue}\n`)
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
