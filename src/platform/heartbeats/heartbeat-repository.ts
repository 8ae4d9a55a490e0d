import { sql } from 'kysely'
import type { Db } from '../db/database.js'

export interface Heartbeat {
  id: string
  role: string
  host: string
  pid: number
  queues: string[]
  concurrency: number
  startedAt: Date
  lastBeatAt: Date
}

/** A process silent for this long counts as dead (three missed beats). */
export const HEARTBEAT_STALE_AFTER_MS = 30_000

// Times come from the database clock on both write and read, so clock skew between machines
// cannot make a live worker look dead or a dead one look alive.

export async function recordBeat(db: Db, beat: Omit<Heartbeat, 'lastBeatAt'>): Promise<void> {
  await db
    .insertInto('worker_heartbeats')
    .values({
      id: beat.id,
      role: beat.role,
      host: beat.host,
      pid: beat.pid,
      queues: beat.queues,
      concurrency: beat.concurrency,
      started_at: beat.startedAt,
      last_beat_at: sql<Date>`now()`,
    })
    .onConflict((oc) => oc.column('id').doUpdateSet({ last_beat_at: sql<Date>`now()`, queues: beat.queues }))
    .execute()
}

export async function removeBeat(db: Db, id: string): Promise<void> {
  await db.deleteFrom('worker_heartbeats').where('id', '=', id).execute()
}

export async function liveProcesses(db: Db, staleAfterMs = HEARTBEAT_STALE_AFTER_MS): Promise<Heartbeat[]> {
  const rows = await db
    .selectFrom('worker_heartbeats')
    .selectAll()
    .where('last_beat_at', '>', sql<Date>`now() - make_interval(secs => ${staleAfterMs / 1000})`)
    .orderBy('started_at')
    .execute()
  return rows.map((row) => ({
    id: row.id,
    role: row.role,
    host: row.host,
    pid: row.pid,
    queues: row.queues,
    concurrency: row.concurrency,
    startedAt: row.started_at,
    lastBeatAt: row.last_beat_at,
  }))
}

/** Deletes rows of processes that stopped beating more than `olderThanMs` ago; returns how many. */
export async function pruneDeadBeats(db: Db, olderThanMs: number): Promise<number> {
  const result = await db
    .deleteFrom('worker_heartbeats')
    .where('last_beat_at', '<', sql<Date>`now() - make_interval(secs => ${olderThanMs / 1000})`)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
