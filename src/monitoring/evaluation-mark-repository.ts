import { sql } from 'kysely'
import type pg from 'pg'
import { compiledOnce } from '../platform/db/compiled-once.js'
import type { Db } from '../platform/db/database.js'
import type { AlertKind } from '../platform/db/schema.js'
import { conditionColumn } from './alerts/alert-repository.js'
import type { ApplyGuard } from './alerts/alert-store.js'
import type { MonitorName } from './registry.js'

// Marks are written by the monitored tables' triggers, in the statement that wrote the rows, for
// the monitors `monitor_inputs` lists (monitor-inputs.ts): whoever writes, the mark exists exactly when
// the write does. A newer write takes a new version; the first unevaluated write's time is kept
// for the drainer. What follows reads and clears them.

/** What an evaluation saw of each user before it loaded their data. */
export interface Seen {
  /** The user's mark version, if a write was waiting for this monitor. */
  version: string | null
  /** When the oldest write waiting for this monitor was made (the write→alert latency starts there). */
  markedAt: Date | null
  /** How many evaluations of the user by this monitor had been applied. */
  applies: number
  /**
   * The conditions of the user's open alerts of the monitor's kind, read with the fence: the
   * monitor looks at these too, to clear them (a deleted vehicle, a cancelled trip). Read before
   * the data is safe: an alert opened since was opened by another evaluation, which the fence
   * then sees.
   */
  openConditions: string[]
}

/** The open conditions of a user's alerts of `kind`, as a column of a statement over users `u`. */
const openConditionsOf = (kind: AlertKind) =>
  sql<string[]>`array(select distinct ${conditionColumn} from alerts a
    where a.user_id = u.user_id and a.kind = ${kind} and a.resolved_at is null)`

/** The open conditions `seen` holds, per user: what a monitor's evaluate takes. */
export const openConditionsIn = (seen: ReadonlyMap<string, Seen>): ReadonlyMap<string, readonly string[]> =>
  new Map([...seen].map(([userId, { openConditions }]) => [userId, openConditions]))

/** Read before an evaluation loads each page's or write's data: compiled once, a write's (one user) prepared. */
const seenStatement = compiledOnce(
  () => 'seen',
  (_db: Db, _shape: undefined, values: { monitor: MonitorName; kind: AlertKind; userIds: readonly string[] }) => sql<{
    user_id: string
    version: string | null
    marked_at: Date | null
    applies: string | null
    open_conditions: string[]
  }>`
    select u.user_id, m.version, m.marked_at, f.applies, ${openConditionsOf(values.kind)} as open_conditions
    from unnest(${values.userIds}::uuid[]) as u(user_id)
    left join evaluation_marks m on m.monitor = ${values.monitor} and m.user_id = u.user_id
    left join evaluation_fences f on f.monitor = ${values.monitor} and f.user_id = u.user_id
  `,
  (values) => values.userIds.length === 1,
)

/** Read before an evaluation loads its users' data: what the evaluation will answer for. */
export async function readSeen(
  db: Db,
  monitor: MonitorName,
  kind: AlertKind,
  userIds: readonly string[],
): Promise<ReadonlyMap<string, Seen>> {
  if (userIds.length === 0) return new Map()
  const { rows } = await db.executeQuery(seenStatement(db, undefined, { monitor, kind, userIds }))
  return new Map(
    rows.map((row) => [
      row.user_id,
      {
        version: row.version,
        markedAt: row.marked_at,
        applies: Number(row.applies ?? 0),
        openConditions: row.open_conditions,
      },
    ]),
  )
}

/**
 * The alert store's guard for an evaluation that read `seen` (alert-store.ts' ApplyGuard), in its
 * statement after the user locks: the users whose evaluation is still current (no other
 * evaluation of them was applied since `seen` was read) are counted as applied and admitted, and
 * their marks cleared where no write came in meanwhile (a newer write keeps its mark). The others'
 * evaluations are stale and must not be applied. The statement's snapshot predates the locks,
 * which the fence does not mind: ON CONFLICT DO UPDATE judges the newest committed row, and the
 * marks' DELETE rechecks a row changed since.
 */
export const seenGuard = (monitor: MonitorName, seen: ReadonlyMap<string, Seen>): ApplyGuard => ({
  key: 'seen',
  values: (userIds) => {
    const users = userIds.filter((userId) => seen.has(userId))
    // The marks as they were read: a sweep's unmarked users have none to clear.
    const marked = users.flatMap((userId) => {
      const version = seen.get(userId)?.version
      return version ? [{ userId, version }] : []
    })
    return {
      guardMonitor: monitor,
      guardUsers: users,
      guardApplies: users.map((userId) => (seen.get(userId)?.applies ?? 0) + 1),
      guardMarkedUsers: marked.map((m) => m.userId),
      guardMarkedVersions: marked.map((m) => m.version),
    }
  },
  // The marks are cleared before `admitted` is read, so before the store touches an alert: the
  // same order of row locks as a write that marks its user and then resolves an alert
  // (recording a service), which the other order could deadlock with.
  sql: (values) => sql`fenced as (
      insert into evaluation_fences as f (user_id, monitor, applies, evaluated_at)
      select u, ${values.guardMonitor}, a, now()
      from unnest(${values.guardUsers}::uuid[], ${values.guardApplies}::bigint[]) as s(u, a)
      where (select count(*) from locked) >= 0
      on conflict (monitor, user_id) do update set applies = f.applies + 1, evaluated_at = excluded.evaluated_at
        where f.applies = excluded.applies - 1
      returning f.user_id
    ), cleared as (
      delete from evaluation_marks m
      using unnest(${values.guardMarkedUsers}::uuid[], ${values.guardMarkedVersions}::bigint[]) as s(user_id, version)
      where m.monitor = ${values.guardMonitor} and m.user_id = s.user_id and m.version = s.version
        and s.user_id in (select user_id from fenced)
      returning m.user_id
    ), admitted as (
      select user_id from fenced where (select count(*) from cleared) >= 0
    )`,
})

/**
 * Users marked for `monitor` longer than `graceMs` ago (their evaluation job is late or lost),
 * oldest first, at most `limit`.
 */
export async function waitingUsers(db: Db, monitor: MonitorName, graceMs: number, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('evaluation_marks')
    .select('user_id')
    .where('monitor', '=', monitor)
    .where('marked_at', '<', sql<Date>`now() - make_interval(secs => ${graceMs / 1000})`)
    .orderBy('marked_at')
    .limit(limit)
    .execute()
  return rows.map((row) => row.user_id)
}

/** When a monitor's latest evaluation of a user was applied, and since when a write waits for the next (null: none). */
export async function evaluationTimes(
  db: Db,
  monitor: MonitorName,
  userId: string,
): Promise<{ evaluatedAt: Date | null; pendingSince: Date | null }> {
  const { rows } = await sql<{ evaluated_at: Date | null; marked_at: Date | null }>`
    select (select evaluated_at from evaluation_fences where monitor = ${monitor} and user_id = ${userId}) as evaluated_at,
           (select marked_at from evaluation_marks where monitor = ${monitor} and user_id = ${userId}) as marked_at
  `.execute(db)
  const row = rows[0]
  return { evaluatedAt: row?.evaluated_at ?? null, pendingSince: row?.marked_at ?? null }
}

/**
 * Marks a user for a monitor's evaluation from code, for a change no input table's trigger sees
 * (their thresholds): in the caller's transaction, as a trigger would.
 */
export async function markForEvaluation(trx: Db, userId: string, monitor: string): Promise<void> {
  await sql`
    insert into evaluation_marks (user_id, monitor, version)
    values (${userId}, ${monitor}, nextval('evaluation_mark_versions'))
    on conflict (monitor, user_id) do update set version = excluded.version`.execute(trx)
}

/** The users a session took the evaluation claims of, with what they saw; and the marked users whose claim another session holds. */
export interface Claimed {
  seen: Map<string, Seen>
  heldElsewhere: string[]
}

/**
 * Postgres-only mode evaluates writes without a queue job (jobs/prompt-evaluations.ts): every
 * worker hears of a write, and the one whose session takes the user's claim evaluates it. A claim
 * is a session advisory lock on (monitor, user), taken here for the users still marked — one
 * statement that also reads what readSeen would — and released by releaseClaims, or by the server
 * when the session ends (a worker killed mid-evaluation holds nothing). Users with no mark left
 * were evaluated meanwhile, by someone who read their write.
 */
export async function claimMarked(
  session: pg.Pool,
  monitor: MonitorName,
  kind: AlertKind,
  userIds: readonly string[],
): Promise<Claimed> {
  const { rows } = await session.query<{
    user_id: string
    version: string
    marked_at: Date
    applies: string | null
    claimed: boolean
    open_conditions: string[]
  }>(
    `select m.user_id, m.version, m.marked_at, f.applies,
            pg_try_advisory_lock(hashtext(m.monitor), hashtext(m.user_id::text)) as claimed,
            -- the condition as alert-repository.ts' conditionColumn reads it (this session's pool is not Kysely's)
            array(select distinct split_part(a.dedupe_key, '|', 1) from alerts a
                  where a.user_id = m.user_id and a.kind = $3 and a.resolved_at is null) as open_conditions
     from evaluation_marks m
     left join evaluation_fences f on f.monitor = m.monitor and f.user_id = m.user_id
     where m.monitor = $1 and m.user_id = any($2::uuid[])`,
    [monitor, userIds, kind],
  )
  const claimed: Claimed = { seen: new Map(), heldElsewhere: [] }
  for (const row of rows) {
    if (!row.claimed) claimed.heldElsewhere.push(row.user_id)
    else
      claimed.seen.set(row.user_id, {
        version: row.version,
        markedAt: row.marked_at,
        applies: Number(row.applies ?? 0),
        openConditions: row.open_conditions,
      })
  }
  return claimed
}

/** Gives back claims claimMarked took on this session. */
export async function releaseClaims(session: pg.Pool, monitor: MonitorName, userIds: readonly string[]) {
  if (userIds.length === 0) return
  await session.query('select pg_advisory_unlock(hashtext($1), hashtext(u::text)) from unnest($2::uuid[]) u', [
    monitor,
    userIds,
  ])
}
