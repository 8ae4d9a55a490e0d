import { sql } from 'kysely'
import type { Db } from '../db/database.js'

export interface PageCounts {
  usersEvaluated: number
  alertsCreated: number
  alertsResolved: number
  degraded: boolean
}

export async function startRun(db: Db, monitor: string): Promise<string> {
  const row = await db
    .insertInto('monitor_runs')
    .values({ monitor, status: 'running' })
    .returning('id')
    .executeTakeFirstOrThrow()
  return row.id
}

/** How many page jobs the sweep fanned out; with none the run is over at once. */
export async function setPages(db: Db, runId: string, pages: number): Promise<void> {
  await db
    .updateTable('monitor_runs')
    .set({
      pages_total: pages,
      ...(pages === 0 ? { finished_at: new Date(), status: 'succeeded' as const } : {}),
    })
    .where('id', '=', runId)
    .execute()
}

/**
 * Adds one page's counts; the page that completes the run closes it, as degraded when any page
 * ran without its provider. (A page retried after it was counted is counted twice: the counts
 * are for operators, the alerts themselves are deduplicated.)
 */
export async function recordPage(db: Db, runId: string, counts: PageCounts): Promise<void> {
  const degraded = counts.degraded ? 1 : 0
  await db
    .updateTable('monitor_runs')
    .set({
      users_evaluated: sql`users_evaluated + ${counts.usersEvaluated}`,
      alerts_created: sql`alerts_created + ${counts.alertsCreated}`,
      alerts_resolved: sql`alerts_resolved + ${counts.alertsResolved}`,
      pages_done: sql`pages_done + 1`,
      pages_degraded: sql`pages_degraded + ${degraded}`,
      finished_at: sql`case when pages_done + 1 >= pages_total then now() else finished_at end`,
      status: sql`case when pages_done + 1 < pages_total then status
                       when pages_degraded + ${degraded} > 0 then 'degraded' else 'succeeded' end`,
    })
    .where('id', '=', runId)
    .execute()
}

export async function failRun(db: Db, runId: string, error: string): Promise<void> {
  await db
    .updateTable('monitor_runs')
    .set({ status: 'failed', error: error.slice(0, 2000), finished_at: new Date() })
    .where('id', '=', runId)
    .execute()
}
