import { type Expression, type ExpressionBuilder, type Kysely, type RawBuilder, type SqlBool, sql } from 'kysely'
import type { Db } from '../platform/db/database.js'
import type { AlertKind } from '../platform/db/schema.js'

export interface CandidatePage {
  after: string | null
  limit: number
}

/** The time between two sweeps: what changed with time alone changed in it. */
export interface TimeWindow {
  since: Date
  now: Date
}

/** A `select user_id …` of the users whose condition may have changed with time alone in a window. */
export type DueWithTime = RawBuilder<{ user_id: string }>

// biome-ignore lint/suspicious/noExplicitAny: each monitor states its own condition on `u`
export type UserCondition = (eb: ExpressionBuilder<any, any>) => Expression<SqlBool>

/**
 * One keyset page of a sweep's candidates, in user id order: users that `needsLook` holds for, or
 * that still have an open alert of the monitor's kind (it may have cleared). The walk follows the
 * users table's key, so each page costs the users it passes, never the whole table again (nor
 * the whole alerts table: see the OFFSET below).
 */
export async function candidateUsers(
  db: Db,
  page: CandidatePage,
  kind: AlertKind,
  needsLook: UserCondition,
): Promise<string[]> {
  // biome-ignore lint/suspicious/noExplicitAny: the condition is written against the alias `u`
  const rows = await (db as unknown as Kysely<any>)
    .selectFrom('users as u')
    .select('u.id')
    .where((eb) =>
      eb.or([
        needsLook(eb),
        eb.exists(
          eb
            .selectFrom('alerts as a')
            .select(sql`1`.as('one'))
            .whereRef('a.user_id', '=', 'u.id')
            .where('a.kind', '=', kind)
            .where('a.resolved_at', 'is', null)
            // An OFFSET keeps the planner from hashing every open alert of the kind for each page
            // (a scan of all of them per page: 30 M rows in a sweep at a million vehicles); each
            // user passed is one index probe instead.
            .offset(0),
        ),
      ]),
    )
    .$if(page.after !== null, (q) => q.where('u.id', '>', page.after ?? ''))
    .orderBy('u.id')
    .limit(page.limit)
    .execute()
  return rows.map((row) => row.id as string)
}

/**
 * One keyset page of a `changed` sweep: the users marked for `monitor` (of any age: a mark whose
 * job is still on its way costs one evaluation more, and the fence settles the overlap) and those
 * `dueWithTime` names. Nothing marked and nothing due: no page, and no user's data read.
 */
export async function markedOrDueUsers(
  db: Db,
  monitor: string,
  page: CandidatePage,
  dueWithTime: DueWithTime | undefined,
): Promise<string[]> {
  const { rows } = await sql<{ user_id: string }>`
    select user_id from (
      select user_id from evaluation_marks where monitor = ${monitor}
      ${dueWithTime ? sql`union ${dueWithTime}` : sql``}
    ) as s
    ${page.after === null ? sql`` : sql`where user_id > ${page.after}::uuid`}
    order by user_id
    limit ${page.limit}`.execute(db)
  return rows.map((row) => row.user_id)
}
