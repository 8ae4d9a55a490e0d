import type { Db } from '../../platform/db/database.js'
import { getUser } from '../users/user-repository.js'
import { type BudgetStatus, budgetPeriod, budgetStatus } from './budget-period.js'
import { budgets, spentInPeriod } from './budget-repository.js'

/**
 * Where one of the user's budgets stands now, in the period that contains `now` in the user's
 * timezone; undefined when the user has no such budget.
 */
export async function currentBudgetStatus(
  db: Db,
  userId: string,
  budgetId: string,
  now: Date,
): Promise<BudgetStatus | undefined> {
  const budget = await budgets.get(db, userId, budgetId)
  if (!budget) return undefined
  const user = await getUser(db, userId)
  const period = budgetPeriod(budget.period, user?.timezone ?? 'UTC', now)
  const spent = await spentInPeriod(db, userId, budget, period.start, period.end)
  return budgetStatus(budget.amount, spent, period)
}
