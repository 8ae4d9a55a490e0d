import { sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import { present, toIso } from '../../platform/db/mapping.js'
import { ownedResource } from '../../platform/db/owned-rows.js'

export type BudgetPeriodKind = 'week' | 'month'

export interface Budget {
  id: string
  category: string | null
  amount: number
  currency: string
  period: BudgetPeriodKind
  createdAt: string
  updatedAt: string
}

export type BudgetInput = Pick<Budget, 'category' | 'amount' | 'currency' | 'period'>

export const budgets = ownedResource('budgets', {
  sortColumn: 'created_at',
  touch: true,
  toItem: (row): Budget => ({
    id: row.id,
    category: row.category,
    amount: Number(row.amount),
    currency: row.currency,
    period: row.period,
    createdAt: toIso(row.created_at) ?? '',
    updatedAt: toIso(row.updated_at) ?? '',
  }),
  columns: (input: Partial<BudgetInput>) =>
    present({ category: input.category, amount: input.amount, currency: input.currency, period: input.period }),
})

/**
 * Spent in [from, to) in the budget's currency: one category, or every category when the budget's
 * category is null. Summed in NUMERIC, so cents never drift.
 */
export async function spentInPeriod(
  db: Db,
  userId: string,
  budget: Pick<Budget, 'category' | 'currency'>,
  from: string,
  to: string,
): Promise<number> {
  let query = db
    .selectFrom('expenses')
    .select(sql<string>`coalesce(sum(amount), 0)`.as('spent'))
    .where('user_id', '=', userId)
    .where('currency', '=', budget.currency)
    .where('spent_at', '>=', new Date(from))
    .where('spent_at', '<', new Date(to))
  if (budget.category !== null) query = query.where('category', '=', budget.category)
  const row = await query.executeTakeFirstOrThrow()
  return Number(row.spent)
}
