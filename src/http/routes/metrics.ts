import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { deploymentSpent } from '../../ai/ai-usage-repository.js'
import { type Caps, utcDay } from '../../ai/budget.js'
import { type Queues, queueCounts } from '../../jobs/inspection.js'
import { lastScheduleRuns } from '../../jobs/schedule-run-repository.js'
import { cadenceMs } from '../../operations/operations-snapshot-repository.js'
import { QUEUE_NAMES } from '../../platform/backend/queue-names.js'
import type { Db } from '../../platform/db/database.js'
import { messageOf } from '../../platform/errors/error-message.js'
import { liveProcesses } from '../../platform/heartbeats/heartbeat-repository.js'
import type { Metrics } from '../../platform/metrics.js'
import type { InternalAuth } from '../plugins/internal-auth.js'

interface Store {
  db: Db
  queues: Queues
  /** AI_DAILY_BUDGET_USD and the rest: the budget gauge is today's spend against it. */
  aiCaps: Caps
  /** The schedules this deployment runs (the registry's monitors' sweeps included), with their patterns. */
  schedules: readonly { id: string; pattern: string }[]
}

/**
 * Prometheus text at /metrics (internal token). With `store`, queue depths and live workers are
 * (and each schedule's last run) read from the stores at scrape time, so any API replica reports the whole deployment's figures
 * for them; a worker's or scheduler's own endpoint leaves them out (scraping both would double them).
 */
export function metricsRoutes(deps: { metrics: Metrics; internalAuth: InternalAuth; store?: Store }) {
  const { metrics, store } = deps
  return async (app: FastifyInstance) => {
    app.get('/metrics', { onRequest: deps.internalAuth }, async (request, reply) => {
      if (store) await readStoreFigures(store, metrics, request.log)
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics())
    })
  }
}

async function readStoreFigures(store: Store, metrics: Metrics, log: FastifyBaseLogger): Promise<void> {
  const [counts, live, runs, spent] = await Promise.all([
    queueCounts(store.queues).catch((error) => {
      log.warn({ err: messageOf(error) }, 'queue counts unavailable for /metrics')
      return []
    }),
    liveProcesses(store.db).catch(() => undefined),
    lastScheduleRuns(store.db).catch(() => undefined),
    deploymentSpent(store.db, utcDay(new Date())).catch(() => undefined),
  ])
  metrics.scheduleLastRun.reset()
  for (const [schedule, at] of runs ?? []) metrics.scheduleLastRun.set({ schedule }, at.getTime() / 1000)
  // Every schedule with its cadence, a registered monitor's included: one alert rule covers them
  // all. From the configuration, not the queues: a schedule lost with Redis's data still has one.
  const now = new Date()
  for (const { id, pattern } of store.schedules)
    metrics.scheduleCadence.set({ schedule: id }, cadenceMs(pattern, now) / 1000)
  if (spent !== undefined) {
    metrics.aiBudgetSpent.set(store.aiCaps.deploymentUsd > 0 ? spent / store.aiCaps.deploymentUsd : spent > 0 ? 1 : 0)
  }
  metrics.queueJobs.reset()
  for (const { queue, counts: byState } of counts) {
    for (const [state, count] of Object.entries(byState)) metrics.queueJobs.set({ queue, state }, count)
  }
  metrics.workersAlive.reset()
  if (!live) return
  for (const queue of QUEUE_NAMES) {
    metrics.workersAlive.set({ queue }, live.filter((p) => p.role === 'worker' && p.queues.includes(queue)).length)
  }
}
