import { sql } from 'kysely'
import type { Db } from '../db/database.js'

/**
 * Takes the lease on `task` for `holder` unless a live lease exists; true when taken. One
 * statement, so two workers racing for it cannot both win.
 */
export async function acquireLease(db: Db, task: string, holder: string, ttlMs: number): Promise<boolean> {
  const expires = sql<Date>`now() + make_interval(secs => ${ttlMs / 1000})`
  const row = await db
    .insertInto('task_leases')
    .values({ task, holder, expires_at: expires })
    .onConflict((oc) =>
      oc
        .column('task')
        .doUpdateSet({ holder, acquired_at: sql<Date>`now()`, expires_at: expires })
        .where('task_leases.expires_at', '<', sql<Date>`now()`),
    )
    .returning('holder')
    .executeTakeFirst()
  return row?.holder === holder
}

export async function releaseLease(db: Db, task: string, holder: string): Promise<void> {
  await db.deleteFrom('task_leases').where('task', '=', task).where('holder', '=', holder).execute()
}
