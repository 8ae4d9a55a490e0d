import { setTimeout as sleep } from 'node:timers/promises'
import type { Deps } from '../deps.js'
import { startHeartbeat } from '../heartbeats/heartbeat.js'
import { createProducer } from '../jobs/producer.js'
import { schedules, syncSchedules } from '../jobs/schedules.js'
import type { RunningRole } from './role.js'
import { waitForStore } from './wait-for-store.js'

const RESYNC_MS = 5 * 60_000
const MAX_RETRY_MS = 30_000

/**
 * The seeds' "beat": makes BullMQ's job schedulers match the schedule in code. BullMQ itself
 * creates each run, so runs continue while this process is down; it re-syncs every few minutes
 * so that a store that lost its data (a flushed Redis) gets its schedules back.
 */
export async function startScheduler(deps: Deps, signal: AbortSignal): Promise<RunningRole> {
  await waitForStore(deps, signal)
  const heartbeat = await startHeartbeat(deps.db, deps.logger, { role: 'scheduler', queues: [], concurrency: 1 })
  const producer = createProducer(deps.backend, deps.logger)
  const log = deps.logger.child({ component: 'scheduler' })
  const wanted = schedules(deps.config)
  const stopping = new AbortController()
  const loop = (async () => {
    let failures = 0
    while (!stopping.signal.aborted) {
      let wait = RESYNC_MS
      try {
        await syncSchedules(producer, log, wanted)
        if (failures > 0) log.info('schedules in place again')
        failures = 0
      } catch (error) {
        failures += 1
        wait = Math.min(MAX_RETRY_MS, 1000 * 2 ** failures)
        log.warn({ err: (error as Error).message, retryInMs: wait }, 'could not sync schedules; retrying')
      }
      await sleep(wait, undefined, { signal: stopping.signal }).catch(() => undefined)
    }
  })()
  log.info({ schedules: wanted.map((s) => `${s.id} ${s.pattern}`) }, 'scheduler started')
  return {
    async stop() {
      stopping.abort()
      await loop
      await heartbeat.stop()
      await producer.close()
    },
  }
}
