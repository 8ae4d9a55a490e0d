import { type Expression, type ExpressionBuilder, type Kysely, type SqlBool, sql } from 'kysely'
import type { Db } from '../db/database.js'
import type { AlertKind } from '../db/schema.js'

export interface CandidatePage {
  after: string | null
  limit: number
}

// biome-ignore lint/suspicious/noExplicitAny: each monitor states its own condition on `u`
export type UserCondition = (eb: ExpressionBuilder<any, any>) => Expression<SqlBool>

/**
 * One keyset page of a sweep's candidates, in user id order: users that `needsLook` holds for, or
 * that still have an open alert of the monitor's kind (it may have cleared). The walk follows the
 * users table's key, so each page costs the users it passes, never the whole table again.
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
            .where('a.resolved_at', 'is', null),
        ),
      ]),
    )
    .$if(page.after !== null, (q) => q.where('u.id', '>', page.after ?? ''))
    .orderBy('u.id')
    .limit(page.limit)
    .execute()
  return rows.map((row) => row.id as string)
}
