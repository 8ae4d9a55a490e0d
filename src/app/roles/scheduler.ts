import { setTimeout as sleep } from 'node:timers/promises'
import { deploymentSpent } from '../../ai/ai-usage-repository.js'
import { utcDay } from '../../ai/budget.js'
import { createOperatorMailer } from '../../delivery/channels/email-channel.js'
import { createProducer } from '../../jobs/producer.js'
import { missingSchedules, schedules, syncSchedules } from '../../jobs/schedules.js'
import { operatorChannels } from '../../operations/operator-channels.js'
import { type OperatorWatch, startOperatorWatch } from '../../operations/operator-watch.js'
import { aiCaps, smtpSettings } from '../../platform/config.js'
import { messageOf } from '../../platform/errors/error-message.js'
import { HEARTBEAT_INTERVAL_MS, startHeartbeat } from '../../platform/heartbeats/heartbeat.js'
import type { Deps } from '../composition/deps.js'
import type { RunningRole } from './role.js'
import { waitForStore } from './wait-for-store.js'

const MAX_RETRY_MS = 30_000

/**
 * The scheduler role (Celery's "beat" in the system PAM replaced): makes BullMQ's job schedulers match the schedule in code. BullMQ itself
 * creates each run, so runs continue while this process is down. On every heartbeat it checks
 * that they are all still there with a run to come, so a store that lost its data (a flushed
 * Redis, a failover's last writes) gets them back within seconds, with a warning.
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
          log.warn({ missing }, 'schedules are missing or stalled (did the store lose data?); re-creating them')
        }
        if (!synced || missing.length > 0) {
          await syncSchedules(producer, log, wanted, synced ? missing : undefined)
          // Redis mode: readiness reports a store that lost its data until this mark is back.
          await deps.backend.markInUse?.()
          if (synced || failures > 0) log.info('schedules in place again')
          synced = true
        }
        failures = 0
      } catch (error) {
        failures += 1
        wait = Math.min(MAX_RETRY_MS, 1000 * 2 ** failures)
        log.warn({ err: messageOf(error), retryInMs: wait }, 'could not check the schedules; retrying')
      }
      await sleep(wait, undefined, { signal: stopping.signal }).catch(() => undefined)
    }
  })()
  // Operator alerts are checked here, not in every replica of every role: schedulers take turns
  // under a database lock, so a condition is announced once however many of them run.
  const smtp = smtpSettings(deps.config)
  const mailer = smtp && deps.config.OPS_ALERT_EMAIL ? createOperatorMailer(smtp, deps.config.EMAIL_FROM) : undefined
  const channels = operatorChannels(deps.config, log, mailer)
  const watch: OperatorWatch | undefined =
    channels.length > 0
      ? startOperatorWatch({
          db: deps.db,
          queues: producer.queues,
          queueStore: deps.backend.kind,
          schedules: wanted,
          config: deps.config,
          channels,
          aiBudget: async () => ({
            spent: await deploymentSpent(deps.db, utcDay(new Date())),
            limit: aiCaps(deps.config).deploymentUsd,
          }),
          logger: deps.logger.child({ component: 'operator-alerts' }),
        })
      : undefined
  log.info(
    { schedules: wanted.map((s) => `${s.id} ${s.pattern}`), operatorAlerts: channels.map((c) => c.name) },
    'scheduler started',
  )
  return {
    async stop() {
      stopping.abort()
      await loop
      await watch?.stop()
      mailer?.close()
      await heartbeat.stop()
      await producer.close()
    },
  }
}
