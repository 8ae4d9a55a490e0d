import { parseArgs } from 'node:util'
import { QUEUE_NAMES, type QueueName } from '../../platform/backend/queue-names.js'
import { type Config, workerQueues } from '../../platform/config.js'
import { startApi } from '../roles/api.js'
import { withMetricsEndpoint } from '../roles/metrics-endpoint.js'
import type { RunningRole } from '../roles/role.js'
import { runRole } from '../roles/run.js'
import { startScheduler } from '../roles/scheduler.js'
import { waitForStore } from '../roles/wait-for-store.js'
import { startWorker } from '../roles/worker.js'
import { announceWhenReady } from './next-steps.js'
import { UsageError } from './usage-error.js'

function workerOptions(config: Config, args: string[]) {
  const { values } = parseArgs({
    args,
    options: { queues: { type: 'string' }, concurrency: { type: 'string' } },
    strict: true,
  })
  const queues = values.queues ? values.queues.split(',').map((name) => name.trim()) : [...workerQueues(config)]
  const unknown = queues.filter((name) => !(QUEUE_NAMES as readonly string[]).includes(name))
  if (unknown.length > 0)
    throw new UsageError(`--queues: unknown queue ${unknown.join(', ')} (known: ${QUEUE_NAMES.join(', ')})`)
  const concurrency = values.concurrency === undefined ? config.WORKER_CONCURRENCY : Number(values.concurrency)
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256)
    throw new UsageError('--concurrency must be a whole number from 1 to 256')
  return { queues: queues as QueueName[], concurrency }
}

/** `pam start`: api + worker + scheduler in one process; in development, then says where to go. */
export function runStartCommand(config: Config, args: string[], started?: () => Promise<void>): Promise<void> {
  const worker = workerOptions(config, args)
  return runRole(config, 'all', started, async (deps, signal) => {
    // Migrated first, BullMQ's schema included: no queue or worker is built before its store.
    await waitForStore(deps, signal)
    // In this order, and stopped in it; a role that fails to start stops those before it.
    const roles: RunningRole[] = []
    const stop = async () => {
      for (const role of roles) await role.stop()
    }
    try {
      roles.push(await startApi(deps, signal))
      roles.push(await startWorker(deps, signal, worker))
      roles.push(await startScheduler(deps, signal))
    } catch (error) {
      await stop()
      throw error
    }
    if (config.ENVIRONMENT === 'development') void announceWhenReady(config, signal)
    return { stop }
  })
}

export function runApiCommand(config: Config, _args: string[], started?: () => Promise<void>): Promise<void> {
  return runRole(config, 'api', started, startApi)
}

export function runWorkerCommand(config: Config, args: string[], started?: () => Promise<void>): Promise<void> {
  const options = workerOptions(config, args)
  return runRole(
    config,
    'worker',
    started,
    withMetricsEndpoint('pam-worker', (deps, signal) => startWorker(deps, signal, options)),
  )
}

export function runSchedulerCommand(config: Config, _args: string[], started?: () => Promise<void>): Promise<void> {
  return runRole(config, 'scheduler', started, withMetricsEndpoint('pam-scheduler', startScheduler))
}
