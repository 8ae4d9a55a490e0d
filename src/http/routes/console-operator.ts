import type { FastifyInstance } from 'fastify'
import { deploymentUsage } from '../../ai/ai-usage-repository.js'
import { type Caps, utcDay } from '../../ai/budget.js'
import { deliveryCountsSince } from '../../delivery/delivery-repository.js'
import { failedJobs, type Queues, queueStats, scheduledJobs } from '../../jobs/inspection.js'
import { lastScheduleRuns } from '../../jobs/schedule-run-repository.js'
import { recentRuns } from '../../monitoring/monitor-run-repository.js'
import { schedulerPeriodMs } from '../../operations/operations-snapshot-repository.js'
import { recentOperatorAlerts } from '../../operations/operator-alert-repository.js'
import type { Db } from '../../platform/db/database.js'
import { databaseNow } from '../../platform/db/database-now.js'
import { liveProcesses } from '../../platform/heartbeats/heartbeat-repository.js'
import { providerTotalsSince } from '../../providers/provider-outcomes.js'

const HOUR_MS = 3600_000
const RECENT = 20

/**
 * Runs of a schedule that should have started by `now` and did not: the due times after its last
 * run, the one just due given a grace (a minute, or half the cadence) to start. Undefined: it has
 * not run since PAM began keeping its runs.
 */
export function missedRuns(lastRunAt: Date | undefined, cadence: number, now: Date): number | undefined {
  if (!lastRunAt || cadence <= 0) return undefined
  const grace = Math.min(60_000, cadence / 2)
  return Math.max(0, Math.floor((now.getTime() - lastRunAt.getTime() - grace) / cadence))
}

/**
 * `GET /admin/console/overview`: what the console's operator view shows, in one read. It sits in
 * the queue dashboard's scope, behind the same internal token or sign-in session (an HttpOnly
 * cookie scoped to /admin), so the console adds no way in of its own.
 */
export function consoleOperatorRoutes(deps: { db: Db; queues: Queues; aiCaps: Caps }) {
  return async (app: FastifyInstance) => {
    app.get('/admin/console/overview', async (_request, reply) => {
      const { db, queues } = deps
      const now = await databaseNow(db)
      const hourAgo = new Date(now.getTime() - HOUR_MS)
      const [schedules, lastRuns, runs, stats, workers, failed, operatorAlerts, deliveries, providers, ai] =
        await Promise.all([
          scheduledJobs(queues),
          lastScheduleRuns(db),
          recentRuns(db, RECENT),
          queueStats(queues),
          liveProcesses(db),
          failedJobs(queues),
          recentOperatorAlerts(db, RECENT),
          deliveryCountsSince(db, hourAgo),
          providerTotalsSince(db, hourAgo),
          deploymentUsage(db, utcDay(now)),
        ])
      reply.header('cache-control', 'no-store')
      return {
        now: now.toISOString(),
        schedules: schedules
          .map((schedule) => {
            const lastRunAt = lastRuns.get(schedule.id)
            return {
              ...schedule,
              lastRunAt: lastRunAt?.toISOString() ?? null,
              missedRuns: missedRuns(lastRunAt, schedulerPeriodMs(schedule.cadence, now), now) ?? null,
            }
          })
          .sort((a, b) => a.id.localeCompare(b.id)),
        monitorRuns: runs.map((run) => ({
          id: run.id,
          monitor: run.monitor,
          status: run.status,
          startedAt: run.started_at.toISOString(),
          durationMs: run.finished_at ? run.finished_at.getTime() - run.started_at.getTime() : null,
          usersEvaluated: run.users_evaluated,
          alertsCreated: run.alerts_created,
        })),
        queues: stats.map(({ queue, counts }) => ({ queue, counts })),
        workers: workers.map((worker) => ({ ...worker, lastBeatAt: worker.lastBeatAt.toISOString() })),
        failedJobs: failed.sort((a, b) => (b.failedAt ?? '').localeCompare(a.failedAt ?? '')).slice(0, RECENT),
        operatorAlerts: operatorAlerts.map((alert) => ({
          condition: alert.condition,
          kind: alert.kind,
          status: alert.status,
          summary: alert.summary,
          raisedAt: alert.raised_at.toISOString(),
          resolvedAt: alert.resolved_at?.toISOString() ?? null,
        })),
        deliveriesLastHour: deliveries,
        providersLastHour: providers.map((p) => ({
          ...p,
          failureRatio: p.succeeded + p.failed === 0 ? 0 : p.failed / (p.succeeded + p.failed),
        })),
        aiToday: { day: utcDay(now), capUsd: deps.aiCaps.deploymentUsd, spentUsd: ai.spentUsd },
      }
    })
  }
}
