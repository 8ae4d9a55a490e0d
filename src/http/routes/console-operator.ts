import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import { deploymentUsage } from '../../ai/ai-usage-repository.js'
import { type Caps, utcDay } from '../../ai/budget.js'
import { failedJobs, type Queues, queueStats, scheduledJobs } from '../../jobs/inspection.js'
import { lastScheduleRuns } from '../../jobs/schedule-run-repository.js'
import { schedulerPeriodMs } from '../../operations/operations-snapshot-repository.js'
import type { Db } from '../../platform/db/database.js'
import { liveProcesses } from '../../platform/heartbeats/heartbeat-repository.js'

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

/** A scheduler's period: its cron pattern's, or the `every N ms` inspection reports. */

/**
 * `GET /admin/console/overview`: what the console's operator view shows, in one read. It sits in
 * the queue dashboard's scope, behind the same internal token or sign-in session (an HttpOnly
 * cookie scoped to /admin), so the console adds no way in of its own.
 */
export function consoleOperatorRoutes(deps: { db: Db; queues: Queues; aiCaps: Caps }) {
  return async (app: FastifyInstance) => {
    app.get('/admin/console/overview', async (_request, reply) => {
      const { db, queues } = deps
      const { now } = (await sql<{ now: Date }>`select now() as now`.execute(db)).rows[0] as { now: Date }
      const hourAgo = new Date(now.getTime() - HOUR_MS)
      const [schedules, lastRuns, runs, stats, workers, failed, operatorAlerts, deliveries, providers, ai] =
        await Promise.all([
          scheduledJobs(queues),
          lastScheduleRuns(db),
          db
            .selectFrom('monitor_runs')
            .select(['id', 'monitor', 'status', 'started_at', 'finished_at', 'users_evaluated', 'alerts_created'])
            .orderBy('started_at', 'desc')
            .limit(RECENT)
            .execute(),
          queueStats(queues),
          liveProcesses(db),
          failedJobs(queues),
          db
            .selectFrom('operator_alerts')
            .select(['condition', 'kind', 'status', 'summary', 'raised_at', 'resolved_at'])
            .orderBy('raised_at', 'desc')
            .limit(RECENT)
            .execute(),
          db
            .selectFrom('deliveries')
            .select(['channel', 'status', sql<number>`count(*)::int`.as('count')])
            .where('updated_at', '>=', hourAgo)
            .where('status', 'in', ['sent', 'failed'])
            .groupBy(['channel', 'status'])
            .execute(),
          db
            .selectFrom('provider_outcomes')
            .select([
              'provider',
              sql<number>`sum(succeeded)::int`.as('succeeded'),
              sql<number>`sum(failed)::int`.as('failed'),
            ])
            .where('minute', '>=', hourAgo)
            .groupBy('provider')
            .orderBy('provider')
            .execute(),
          deploymentUsage(db, utcDay(now)),
        ])
      const perChannel = new Map<string, { channel: string; sent: number; failed: number }>()
      for (const row of deliveries) {
        const entry = perChannel.get(row.channel) ?? { channel: row.channel, sent: 0, failed: 0 }
        entry[row.status as 'sent' | 'failed'] = row.count
        perChannel.set(row.channel, entry)
      }
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
        deliveriesLastHour: [...perChannel.values()],
        providersLastHour: providers.map((p) => ({
          ...p,
          failureRatio: p.succeeded + p.failed === 0 ? 0 : p.failed / (p.succeeded + p.failed),
        })),
        aiToday: { day: utcDay(now), capUsd: deps.aiCaps.deploymentUsd, spentUsd: ai.spentUsd },
      }
    })
  }
}
