import { present, toIso } from '../../platform/db/mapping.js'
import { type Filter, ownedResource } from '../../platform/db/owned-rows.js'

export interface Expense {
  id: string
  amount: number
  currency: string
  category: string
  spentAt: string
  note: string | null
  createdAt: string
  updatedAt: string
}

export type ExpenseInput = Pick<Expense, 'amount' | 'currency' | 'category' | 'spentAt'> & { note?: string | null }

export interface ExpenseFilter {
  from?: string
  to?: string
  category?: string
}

export const expenses = ownedResource('expenses', {
  sortColumn: 'spent_at',
  touch: true,
  toItem: (row): Expense => ({
    id: row.id,
    amount: Number(row.amount),
    currency: row.currency,
    category: row.category,
    spentAt: toIso(row.spent_at) ?? '',
    note: row.note,
    createdAt: toIso(row.created_at) ?? '',
    updatedAt: toIso(row.updated_at) ?? '',
  }),
  columns: (input: Partial<ExpenseInput>) =>
    present({
      amount: input.amount,
      currency: input.currency,
      category: input.category,
      spent_at: input.spentAt,
      note: input.note,
    }),
})

/** `from` inclusive, `to` exclusive, on spentAt. */
export const expenseFilter =
  (filter: ExpenseFilter): Filter =>
  (query) => {
    let q = query
    if (filter.from) q = q.where('spent_at', '>=', filter.from)
    if (filter.to) q = q.where('spent_at', '<', filter.to)
    if (filter.category) q = q.where('category', '=', filter.category)
    return q
  }
