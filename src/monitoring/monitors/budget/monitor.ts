import { evaluateEach, type Monitor } from '../../monitor.js'
import { BUDGET_RULE_VERSION, type BudgetThresholds, evaluateBudgets } from './rule.js'
import { budgetCandidates, budgetsDueWithTime, loadBudgetSnapshots } from './snapshot.js'
import { budgetSubjectState } from './state.js'

/** The budget monitor: its alert kind, queue, tasks, schedule, thresholds, inputs, and how it evaluates. */
export const budget: Monitor<'budget', BudgetThresholds> = {
  name: 'budget',
  alertKind: 'budget_threshold',
  queue: 'analytics',
  tasks: { evaluate: 'monitor.budget.evaluate', sweep: 'monitor.budget.sweep', page: 'monitor.budget.page' },
  schedule: { id: 'pam-budget-analysis', pattern: (config) => config.SCHEDULE_BUDGET_ANALYSIS },
  thresholds: (config) => ({ highRatio: config.BUDGET_HIGH_RATIO, urgentRatio: config.BUDGET_URGENT_RATIO }),
  inputs: ['budgets', 'expenses'],
  ruleVersion: BUDGET_RULE_VERSION,
  candidates: (db, page) => budgetCandidates(db, page),
  dueWithTime: (window) => budgetsDueWithTime(window),
  async evaluate(db, userIds, _providers, thresholds, now) {
    const snapshots = await loadBudgetSnapshots(db, userIds, now)
    return { evaluations: evaluateEach(snapshots, (s) => evaluateBudgets(s, now, thresholds)), degraded: false }
  },
  explain: { subject: 'budget', state: budgetSubjectState },
}
