import { sql } from 'kysely'
import type { Db } from '../platform/db/database.js'
import { HEARTBEAT_STALE_AFTER_MS } from '../platform/heartbeats/heartbeat-repository.js'

export interface LeaseHolder {
  /** The worker's heartbeat id. */
  workerId: string
  jobId: string
}

/**
 * Takes the lease on `task` for `holder` unless another run still holds it; true when taken. A
 * lease is free again when it expired, when its worker's heartbeat went stale (killed mid-run), or when
 * the job asking is the one that holds it (BullMQ re-running a stalled job). One statement, so two
 * workers racing for it cannot both win.
 */
export async function acquireLease(db: Db, task: string, holder: LeaseHolder, ttlMs: number): Promise<boolean> {
  const expires = sql<Date>`now() + make_interval(secs => ${ttlMs / 1000})`
  const row = await db
    .insertInto('task_leases')
    .values({ task, holder: holder.workerId, job_id: holder.jobId, expires_at: expires })
    .onConflict((oc) =>
      oc
        .column('task')
        .doUpdateSet({
          holder: holder.workerId,
          job_id: holder.jobId,
          acquired_at: sql<Date>`now()`,
          expires_at: expires,
        })
        .where((eb) =>
          eb.or([
            eb('task_leases.expires_at', '<', sql<Date>`now()`),
            eb('task_leases.job_id', '=', holder.jobId),
            eb.exists(
              eb
                .selectFrom('worker_heartbeats as h')
                .select(sql`1`.as('one'))
                .whereRef('h.id', '=', 'task_leases.holder')
                .where(
                  'h.last_beat_at',
                  '<=',
                  sql<Date>`now() - make_interval(secs => ${HEARTBEAT_STALE_AFTER_MS / 1000})`,
                ),
            ),
          ]),
        ),
    )
    .returning(['holder', 'job_id'])
    .executeTakeFirst()
  return row?.holder === holder.workerId && row.job_id === holder.jobId
}

export async function releaseLease(db: Db, task: string, holder: LeaseHolder): Promise<void> {
  await db
    .deleteFrom('task_leases')
    .where('task', '=', task)
    .where('holder', '=', holder.workerId)
    .where('job_id', '=', holder.jobId)
    .execute()
}
