import { sql } from 'kysely'
import type { Db } from '../platform/db/database.js'
import { DEPLOYMENT_SCOPE } from './budget.js'

export interface UsageTotals {
  /** Calls made (a budget's refusals are not calls). */
  calls: number
  /** Calls a budget refused before they were made. */
  refused: number
  costUsd: number
  inputTokens: number
  outputTokens: number
  cacheWriteTokens: number
  cacheReadTokens: number
}

export interface ModelUsage extends UsageTotals {
  provider: string
  model: string
  /** Calls that read from the prompt cache. */
  cacheHits: number
  failed: number
}

const totals = sql<string>`count(*) filter (where outcome not like 'refused_%')`
const columns = [
  totals.as('calls'),
  sql<string>`count(*) filter (where outcome like 'refused_%')`.as('refused'),
  sql<string>`coalesce(sum(cost_usd), 0)`.as('cost_usd'),
  sql<string>`coalesce(sum(input_tokens), 0)`.as('input_tokens'),
  sql<string>`coalesce(sum(output_tokens), 0)`.as('output_tokens'),
  sql<string>`coalesce(sum(cache_write_tokens), 0)`.as('cache_write_tokens'),
  sql<string>`coalesce(sum(cache_read_tokens), 0)`.as('cache_read_tokens'),
] as const

type TotalsRow = {
  [K in
    | 'calls'
    | 'refused'
    | 'cost_usd'
    | 'input_tokens'
    | 'output_tokens'
    | 'cache_write_tokens'
    | 'cache_read_tokens']: string
}

const toTotals = (row: TotalsRow | undefined): UsageTotals => ({
  calls: Number(row?.calls ?? 0),
  refused: Number(row?.refused ?? 0),
  costUsd: Number(row?.cost_usd ?? 0),
  inputTokens: Number(row?.input_tokens ?? 0),
  outputTokens: Number(row?.output_tokens ?? 0),
  cacheWriteTokens: Number(row?.cache_write_tokens ?? 0),
  cacheReadTokens: Number(row?.cache_read_tokens ?? 0),
})

/** One user's calls and cost on a UTC day and in the UTC month it is in. */
export async function userUsage(
  db: Db,
  userId: string,
  day: string,
): Promise<{ today: UsageTotals; month: UsageTotals }> {
  const month = `${day.slice(0, 7)}-01`
  const [today, thisMonth] = await Promise.all([
    db.selectFrom('ai_calls').select(columns).where('user_id', '=', userId).where('day', '=', day).executeTakeFirst(),
    db
      .selectFrom('ai_calls')
      .select(columns)
      .where('user_id', '=', userId)
      .where('day', '>=', month)
      .where('day', '<=', day)
      .executeTakeFirst(),
  ])
  return { today: toTotals(today), month: toTotals(thisMonth) }
}

/**
 * The deployment's spend on a UTC day, per provider and model, and what the day total holds
 * (settled costs plus the reservations of calls still in flight: what the cap is checked against).
 */
export async function deploymentUsage(db: Db, day: string): Promise<{ spentUsd: number; models: ModelUsage[] }> {
  const rows = await db
    .selectFrom('ai_calls')
    .select(['provider', 'model', ...columns])
    .select([
      sql<string>`count(*) filter (where cache_read_tokens > 0)`.as('cache_hits'),
      sql<string>`count(*) filter (where outcome not in ('ok', 'reserved') and outcome not like 'refused_%')`.as(
        'failed',
      ),
    ])
    .where('day', '=', day)
    .groupBy(['provider', 'model'])
    .orderBy('provider')
    .orderBy('model')
    .execute()
  return {
    spentUsd: await deploymentSpent(db, day),
    models: rows.map((row) => ({
      provider: row.provider,
      model: row.model,
      ...toTotals(row),
      cacheHits: Number(row.cache_hits),
      failed: Number(row.failed),
    })),
  }
}

/** What the deployment's day total holds: settled costs plus reservations of calls in flight. */
export async function deploymentSpent(db: Db, day: string): Promise<number> {
  const total = await db
    .selectFrom('ai_budget_days')
    .select('spent_usd')
    .where('scope', '=', DEPLOYMENT_SCOPE)
    .where('day', '=', day)
    .executeTakeFirst()
  return Number(total?.spent_usd ?? 0)
}
