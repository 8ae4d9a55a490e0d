import { sql } from 'kysely'
import type { Db } from '../platform/db/database.js'

/** Records that a job of `schedule` started now (database clock, as every time the checks compare). */
export async function recordScheduleRun(db: Db, schedule: string): Promise<void> {
  await db
    .insertInto('schedule_runs')
    .values({ schedule, last_run_at: sql<Date>`now()` })
    .onConflict((oc) => oc.column('schedule').doUpdateSet({ last_run_at: (eb) => eb.ref('excluded.last_run_at') }))
    .execute()
}

export async function lastScheduleRuns(db: Db): Promise<Map<string, Date>> {
  const rows = await db.selectFrom('schedule_runs').selectAll().execute()
  return new Map(rows.map((row) => [row.schedule, row.last_run_at]))
}
