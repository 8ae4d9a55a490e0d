import { setTimeout as sleep } from 'node:timers/promises'
import type { Deps } from '../deps.js'
import { startHeartbeat } from '../heartbeats/heartbeat.js'
import { createProducer } from '../jobs/producer.js'
import { syncSchedules } from '../jobs/schedules.js'
import type { RunningRole } from './role.js'
import { waitForStore } from './wait-for-store.js'

const MAX_DELAY_MS = 30_000

/**
 * The seeds' "beat": makes BullMQ's job schedulers match the schedule in code. BullMQ itself
 * then creates each run, so the schedule survives this process stopping.
 */
export async function startScheduler(deps: Deps, signal: AbortSignal): Promise<RunningRole> {
  await waitForStore(deps, signal)
  const heartbeat = await startHeartbeat(deps.db, deps.logger, { role: 'scheduler', queues: [], concurrency: 1 })
  const producer = createProducer(deps.backend)
  const log = deps.logger.child({ component: 'scheduler' })
  const synced = (async () => {
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        await syncSchedules(producer, log)
        log.info('schedules in place')
        return
      } catch (error) {
        const delay = Math.min(MAX_DELAY_MS, 1000 * 2 ** attempt)
        log.warn({ err: (error as Error).message, retryInMs: delay }, 'could not sync schedules; retrying')
        await sleep(delay, undefined, { signal }).catch(() => undefined)
      }
    }
  })()
  return {
    async stop() {
      await synced
      await heartbeat.stop()
      await producer.close()
    },
  }
}
