import { type BudgetPeriod, budgetStatus } from '../../../travellers/budgets/budget-period.js'
import type { AlertDraft, Evaluation } from '../../alerts/alert-draft.js'
import type { StoredThreshold } from '../../thresholds/traveller-thresholds.js'

export const BUDGET_RULE_VERSION = 1

export interface BudgetThresholds {
  highRatio: number
  urgentRatio: number
}

export interface BudgetState {
  id: string
  category: string | null
  amount: number
  currency: string
  /** The current period in the user's timezone (budgetPeriod), and what was spent in it. */
  period: BudgetPeriod
  spent: number
  /** When the latest counted expense was spent; null when none. */
  lastSpentAt: string | null
  topCategories: { category: string; spent: number }[]
}

export interface BudgetSnapshot {
  budgets: BudgetState[]
  openConditions: string[]
  /** The traveller's own and learned thresholds (resolved against the defaults by the monitor). */
  thresholds?: StoredThreshold[]
}

export const budgetCondition = (budgetId: string) => `budget:${budgetId}`

/**
 * At or over the high ratio of a budget in its current period: high; over the urgent ratio:
 * urgent. The variant carries the period, so a new period resolves last period's alert. The
 * alert expires when its period ends.
 */
export function evaluateBudgets(snapshot: BudgetSnapshot, now: Date, thresholds: BudgetThresholds): Evaluation {
  const conditions = new Set(snapshot.openConditions)
  const drafts: AlertDraft[] = []
  for (const budget of snapshot.budgets) {
    conditions.add(budgetCondition(budget.id))
    const status = budgetStatus(budget.amount, budget.spent, budget.period)
    const ratio = budget.amount > 0 ? budget.spent / budget.amount : 0
    if (ratio < thresholds.highRatio) continue
    const urgent = ratio >= thresholds.urgentRatio
    const priority = urgent ? 'urgent' : 'high'
    const label = budget.category ?? 'total'
    const percent = Math.floor(ratio * 100)
    drafts.push({
      kind: 'budget_threshold',
      priority,
      condition: budgetCondition(budget.id),
      variant: `${priority}:${budget.period.start}`,
      title: `${percent} % of your ${label} budget spent`,
      body:
        status.remaining > 0
          ? `${status.remaining.toFixed(2)} ${budget.currency} left for ${status.daysLeft} day(s): about ${status.dailyAllowance.toFixed(2)} ${budget.currency} a day.`
          : `Over budget by ${(-status.remaining).toFixed(2)} ${budget.currency} with ${status.daysLeft} day(s) to go.`,
      expiresAt: budget.period.end,
      data: {
        threshold: urgent ? thresholds.urgentRatio : thresholds.highRatio,
        observedAt: budget.lastSpentAt ?? now.toISOString(),
        ruleVersion: BUDGET_RULE_VERSION,
        budgetId: budget.id,
        category: budget.category,
        amount: budget.amount,
        ...status,
        topCategories: budget.topCategories,
      },
    })
  }
  return { conditions: [...conditions], drafts }
}
