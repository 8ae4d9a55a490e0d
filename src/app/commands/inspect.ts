import { parseArgs } from 'node:util'
import { activeJobs, failedJobs, queueStats, scheduledJobs } from '../../jobs/inspection.js'
import { createProducer } from '../../jobs/producer.js'
import { QUEUE_NAMES, type QueueName } from '../../platform/backend/queue-names.js'
import type { Config } from '../../platform/config.js'
import { liveProcesses } from '../../platform/heartbeats/heartbeat-repository.js'
import { UsageError, withOpsDeps } from './ops-deps.js'
import { formatTable } from './table.js'

const VIEWS = ['active', 'scheduled', 'stats', 'workers', 'failed'] as const

export function parseQueue(value: string | undefined): QueueName | undefined {
  if (value === undefined) return undefined
  if (!(QUEUE_NAMES as readonly string[]).includes(value)) {
    throw new UsageError(`--queue: unknown queue '${value}' (known: ${QUEUE_NAMES.join(', ')})`)
  }
  return value as QueueName
}

/** `pam inspect active|scheduled|stats|workers|failed [--queue Q] [--json]` */
export async function runInspectCommand(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { queue: { type: 'string' }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
  })
  const view = positionals[0] as (typeof VIEWS)[number]
  if (!VIEWS.includes(view)) throw new UsageError(`usage: npx pam inspect ${VIEWS.join('|')} [--queue Q] [--json]`)
  const queue = parseQueue(values.queue)

  await withOpsDeps(config, 'inspect', async (deps) => {
    const producer = createProducer(deps.backend, deps.logger)
    try {
      const data = await (async () => {
        switch (view) {
          case 'active':
            return activeJobs(producer.queues, queue)
          case 'scheduled':
            return scheduledJobs(producer.queues, queue)
          case 'failed':
            return failedJobs(producer.queues, queue)
          case 'workers':
            return (await liveProcesses(deps.db)).filter((p) => !queue || p.queues.includes(queue))
          case 'stats':
            return queueStats(producer.queues, queue)
        }
      })()
      if (values.json) {
        process.stdout.write(`${JSON.stringify(data, null, 2)}\n`)
      } else if (view === 'stats') {
        const rows = (data as Awaited<ReturnType<typeof queueStats>>).map((s) => ({
          queue: s.queue,
          ...s.counts,
          'completed/1m': s.lastMinute.completed,
          'failed/1m': s.lastMinute.failed,
          'completed/1h': s.lastHour.completed,
          'failed/1h': s.lastHour.failed,
          'failure rate/1h': `${(s.failureRate * 100).toFixed(1)} %`,
        }))
        process.stdout.write(formatTable(rows))
      } else {
        process.stdout.write(formatTable(data as unknown as Record<string, unknown>[]))
      }
    } finally {
      await producer.close()
    }
  })
}
