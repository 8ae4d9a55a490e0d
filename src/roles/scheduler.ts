import { setTimeout as sleep } from 'node:timers/promises'
import type { Deps } from '../deps.js'
import { HEARTBEAT_INTERVAL_MS, startHeartbeat } from '../heartbeats/heartbeat.js'
import { createProducer } from '../jobs/producer.js'
import { missingSchedules, schedules, syncSchedules } from '../jobs/schedules.js'
import type { RunningRole } from './role.js'
import { waitForStore } from './wait-for-store.js'

const MAX_RETRY_MS = 30_000

/**
 * The seeds' "beat": makes BullMQ's job schedulers match the schedule in code. BullMQ itself
 * creates each run, so runs continue while this process is down. On every heartbeat it checks
 * that they are all still there, so a store that lost its data (a flushed Redis) gets them back
 * within seconds, with a warning.
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
    let synced = false
    while (!stopping.signal.aborted) {
      let wait = HEARTBEAT_INTERVAL_MS
      try {
        const missing = synced ? await missingSchedules(producer, wanted) : []
        if (missing.length > 0) {
          log.warn({ missing }, 'schedules are missing (did the store lose its data?); re-creating them')
        }
        if (!synced || missing.length > 0) {
          await syncSchedules(producer, log, wanted)
          // Redis mode: readiness reports a store that lost its data until this mark is back.
          await deps.backend.markInUse?.()
          if (synced || failures > 0) log.info('schedules in place again')
          synced = true
        }
        failures = 0
      } catch (error) {
        failures += 1
        wait = Math.min(MAX_RETRY_MS, 1000 * 2 ** failures)
        log.warn({ err: (error as Error).message, retryInMs: wait }, 'could not check the schedules; retrying')
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
