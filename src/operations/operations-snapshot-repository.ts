import { CronExpressionParser } from 'cron-parser'
import { sql } from 'kysely'
import { failedJobs, type Queues } from '../jobs/inspection.js'
import { lastScheduleRuns } from '../jobs/schedule-run-repository.js'
import type { Schedule } from '../jobs/schedules.js'
import { recoversByItself } from '../jobs/task-declarations.js'
import { QUEUE_NAMES } from '../platform/backend/queue-names.js'
import type { Db } from '../platform/db/database.js'
import { databaseNow } from '../platform/db/database-now.js'
import { isOutageError, STORE_UNAVAILABLE } from '../platform/errors/outage-errors.js'
import { liveProcesses } from '../platform/heartbeats/heartbeat-repository.js'
import {
  JOB_FAILURE_WINDOW_MS,
  type OperationsSnapshot,
  PROVIDER_WINDOW_MS,
  type StoreOutage,
  type SweepRun,
} from './operator-conditions.js'

/** Today's AI spending and its limit: the AI layer's ledger supplies it (undefined: no ledger). */
export type AiBudgetReader = () => Promise<{ spent: number; limit: number } | undefined>

export interface SnapshotSources {
  db: Db
  queues: Queues
  /** Where the queues live: Redis, or PostgreSQL in Postgres-only mode. */
  queueStore: StoreOutage['store']
  schedules: readonly Schedule[]
  watchingSince: Date
  aiBudget?: AiBudgetReader
}

/** The time between two runs of `pattern` after `from` (a cron's period there). */
export function cadenceMs(pattern: string, from: Date): number {
  const expression = CronExpressionParser.parse(pattern, { currentDate: from, tz: 'UTC' })
  const first = expression.next().getTime()
  return expression.next().getTime() - first
}

/** The period of a BullMQ job scheduler as `scheduledJobs` describes it: a cron pattern or `every N ms`. */
export function schedulerPeriodMs(cadence: string, from: Date): number {
  const every = /^every (\d+) ms$/.exec(cadence)
  return every ? Number(every[1]) : cadenceMs(cadence, from)
}

/**
 * Everything the operator conditions look at, read at once: failed jobs from the queues; sweeps,
 * heartbeats, schedule runs and provider outcomes from PostgreSQL. Times from the database's clock.
 */
export async function gatherSnapshot(sources: SnapshotSources): Promise<OperationsSnapshot> {
  const { db } = sources
  const now = await databaseNow(db)
  const unavailable: StoreOutage[] = []
  const [failed, sweeps, live, runs, providers, aiBudget] = await Promise.all([
    failedJobs(sources.queues).catch((error: Error) => {
      if (!isOutageError(error)) throw error
      unavailable.push({ store: sources.queueStore, since: now })
      return []
    }),
    db
      .selectFrom('monitor_runs')
      .select(['monitor', 'status', 'finished_at'])
      .distinctOn('monitor')
      .where('finished_at', 'is not', null)
      .orderBy('monitor')
      .orderBy('finished_at', 'desc')
      .execute(),
    liveProcesses(db),
    lastScheduleRuns(db),
    db
      .selectFrom('provider_outcomes')
      .select([
        'provider',
        sql<number>`sum(succeeded)::int`.as('succeeded'),
        sql<number>`sum(failed)::int`.as('failed'),
      ])
      .where('minute', '>=', new Date(now.getTime() - PROVIDER_WINDOW_MS))
      .groupBy('provider')
      .orderBy('provider')
      .execute(),
    sources.aiBudget?.(),
  ])
  const since = now.getTime() - JOB_FAILURE_WINDOW_MS
  return {
    now,
    unavailable,
    failedJobs: failed
      .filter((job) => job.failedAt !== null && Date.parse(job.failedAt) >= since)
      .map((job) => ({
        queue: job.queue,
        task: job.task,
        failedAt: new Date(job.failedAt as string),
        // The reason is read, never shown: an operator alert carries no error text (it may hold a traveller's).
        recovers: (job.reason ?? '').startsWith(STORE_UNAVAILABLE) && recoversByItself(job.task),
      })),
    sweeps: sweeps.map((run) => ({
      monitor: run.monitor,
      status: run.status as SweepRun['status'],
      finishedAt: run.finished_at as Date,
    })),
    workersPerQueue: Object.fromEntries(
      QUEUE_NAMES.map((queue) => [queue, live.filter((p) => p.role === 'worker' && p.queues.includes(queue)).length]),
    ),
    schedules: sources.schedules.map((schedule) => {
      const lastRunAt = runs.get(schedule.id)
      return {
        schedule: schedule.id,
        lastRunAt,
        cadenceMs: cadenceMs(schedule.pattern, lastRunAt ?? now),
      }
    }),
    watchingSince: sources.watchingSince,
    providers,
    aiBudget,
  }
}
