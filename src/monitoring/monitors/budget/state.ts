import type { Db } from '../../../platform/db/database.js'
import type { SubjectState } from '../../monitor.js'
import { type BudgetThresholds, budgetCondition, evaluateBudgets } from './rule.js'
import { loadBudgetSnapshots } from './snapshot.js'

/** A budget as the budget monitor sees it now: its period, what was spent in it, and the pure rule's verdict. */
export async function budgetSubjectState(
  db: Db,
  userId: string,
  budgetId: string,
  thresholds: BudgetThresholds,
  now: Date,
): Promise<SubjectState | undefined> {
  const snapshot = (await loadBudgetSnapshots(db, [userId], now)).get(userId)
  const budget = snapshot?.budgets.find((candidate) => candidate.id === budgetId)
  if (!snapshot || !budget) return undefined
  const { lastSpentAt, spent, topCategories, period, ...settings } = budget
  return {
    condition: budgetCondition(budget.id),
    inputs: [
      { name: 'budget', at: null, value: settings },
      { name: 'spending', at: lastSpentAt, value: { spent, topCategories, period: { ...period } } },
    ],
    evaluation: evaluateBudgets({ budgets: [budget], openConditions: [] }, now, thresholds),
  }
}
