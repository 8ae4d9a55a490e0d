import { sql } from 'kysely'
import type { Db } from '../platform/db/database.js'
import { budgetRefusal, type Caps, DEPLOYMENT_SCOPE, userScope } from './budget.js'
import type { TokenUsage } from './prices.js'

/** How a ledger row ended; `reserved` while the call is in flight. Bounded: also a metric label. */
export type CallOutcome =
  | 'reserved'
  | 'ok'
  | 'invalid_reply'
  | 'rate_limited'
  | 'transient'
  | 'provider_off'
  | 'refused_user_budget'
  | 'refused_deployment_budget'

export interface Reservation {
  userId: string
  purpose: string
  provider: string
  model: string
  day: string
  amountUsd: number
  caps: Caps
}

/**
 * Reserves a call's worst-case cost against the user's and the deployment's caps for the day, in
 * one transaction: both day rows are locked (in a fixed order, so two reservations never
 * deadlock), checked and raised together, and the ledger row written. However many workers
 * reserve at once, the sum reserved never passes a cap. A refusal is written to the ledger too,
 * as a call that was not made.
 */
export async function reserveCall(
  db: Db,
  reservation: Reservation,
): Promise<{ callId: string } | { refused: 'user_budget' | 'deployment_budget' }> {
  const { userId, day, amountUsd } = reservation
  const scopes = [DEPLOYMENT_SCOPE, userScope(userId)].sort()
  return db.transaction().execute(async (trx) => {
    await trx
      .insertInto('ai_budget_days')
      .values(scopes.map((scope) => ({ scope, day, spent_usd: 0 })))
      .onConflict((conflict) => conflict.doNothing())
      .execute()
    const rows = await trx
      .selectFrom('ai_budget_days')
      .select(['scope', 'spent_usd'])
      .where('day', '=', day)
      .where('scope', 'in', scopes)
      .orderBy('scope')
      .forUpdate()
      .execute()
    const spentOf = (scope: string) => Number(rows.find((row) => row.scope === scope)?.spent_usd ?? 0)
    const refused = budgetRefusal(
      { user: spentOf(userScope(userId)), deployment: spentOf(DEPLOYMENT_SCOPE) },
      amountUsd,
      reservation.caps,
    )
    const ledger = {
      user_id: userId,
      purpose: reservation.purpose,
      provider: reservation.provider,
      model: reservation.model,
      day,
    }
    if (refused) {
      await trx
        .insertInto('ai_calls')
        .values({ ...ledger, outcome: `refused_${refused}`, reserved_usd: 0, cost_usd: 0, settled_at: new Date() })
        .execute()
      return { refused }
    }
    await trx
      .updateTable('ai_budget_days')
      .set({ spent_usd: sql`spent_usd + ${amountUsd}::numeric` })
      .where('day', '=', day)
      .where('scope', 'in', scopes)
      .execute()
    const row = await trx
      .insertInto('ai_calls')
      .values({ ...ledger, outcome: 'reserved', reserved_usd: amountUsd, cost_usd: 0 })
      .returning('id')
      .executeTakeFirstOrThrow()
    return { callId: row.id }
  })
}

export interface Settlement {
  outcome: Exclude<CallOutcome, 'reserved' | 'refused_user_budget' | 'refused_deployment_budget'>
  errorCode?: string
  usage: TokenUsage
  costUsd: number
  latencyMs: number
}

/**
 * Replaces a call's reservation with its real cost, in the ledger and in both day totals. Only a
 * call still reserved is settled, so settling twice changes nothing.
 */
export async function settleCall(db: Db, callId: string, settlement: Settlement): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const call = await trx
      .updateTable('ai_calls')
      .set({
        outcome: settlement.outcome,
        error_code: settlement.errorCode ?? null,
        cost_usd: settlement.costUsd,
        input_tokens: settlement.usage.input,
        output_tokens: settlement.usage.output,
        cache_write_tokens: settlement.usage.cacheWrite,
        cache_read_tokens: settlement.usage.cacheRead,
        latency_ms: Math.round(settlement.latencyMs),
        settled_at: new Date(),
      })
      .where('id', '=', callId)
      .where('outcome', '=', 'reserved')
      .returning(['user_id', 'day', 'reserved_usd'])
      .executeTakeFirst()
    if (!call) return
    const scopes = [DEPLOYMENT_SCOPE, ...(call.user_id ? [userScope(call.user_id)] : [])].sort()
    await trx
      .updateTable('ai_budget_days')
      .set({
        spent_usd: sql`greatest(0, spent_usd - ${call.reserved_usd}::numeric + ${settlement.costUsd}::numeric)`,
      })
      .where('day', '=', call.day)
      .where('scope', 'in', scopes)
      .execute()
  })
}

/** Switches `provider` off for `day`; true for the one caller that did it (who tells the operator). */
export async function blockProvider(db: Db, provider: string, day: string, reason: string): Promise<boolean> {
  const inserted = await db
    .insertInto('ai_provider_blocks')
    .values({ provider, day, reason })
    .onConflict((conflict) => conflict.doNothing())
    .returning('provider')
    .executeTakeFirst()
  return inserted !== undefined
}

export async function blockedProviders(db: Db, day: string): Promise<Set<string>> {
  const rows = await db.selectFrom('ai_provider_blocks').select('provider').where('day', '=', day).execute()
  return new Set(rows.map((row) => row.provider))
}
