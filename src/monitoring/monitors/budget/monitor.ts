import { evaluateEach, type Monitor } from '../../monitor.js'
import { explainEvaluation, type TunableThreshold, tunedFor } from '../../thresholds/traveller-thresholds.js'
import { BUDGET_RULE_VERSION, type BudgetThresholds, evaluateBudgets } from './rule.js'
import { budgetCandidates, budgetsDueWithTime, loadBudgetSnapshots } from './snapshot.js'
import { budgetSubjectState } from './state.js'

/** A traveller may move the share of a budget that alerts them; 'not useful' high alerts raise the high one 5 points at a time. */
const BUDGET_TUNABLE: readonly TunableThreshold<keyof BudgetThresholds>[] = [
  {
    name: 'highRatio',
    priority: 'high',
    min: 0.5,
    max: 0.95,
    step: 0.05,
    quieter: 'up',
    learns: true,
    unit: 'ratio',
    description: 'a high alert once this share of a budget is spent in its period',
  },
  {
    name: 'urgentRatio',
    priority: 'urgent',
    min: 0.8,
    max: 1.5,
    step: 0.05,
    quieter: 'up',
    learns: false,
    unit: 'ratio',
    description: 'an urgent alert (it may wake you in quiet hours) once this share is spent',
  },
]

/** The budget monitor: its alert kind, queue, tasks, schedule, thresholds, inputs, and how it evaluates. */
export const budget: Monitor<'budget', BudgetThresholds> = {
  name: 'budget',
  alertKind: 'budget_threshold',
  queue: 'analytics',
  tasks: { evaluate: 'monitor.budget.evaluate', sweep: 'monitor.budget.sweep', page: 'monitor.budget.page' },
  schedule: { id: 'pam-budget-analysis', pattern: (config) => config.SCHEDULE_BUDGET_ANALYSIS },
  thresholds: (config) => ({ highRatio: config.BUDGET_HIGH_RATIO, urgentRatio: config.BUDGET_URGENT_RATIO }),
  tunable: BUDGET_TUNABLE,
  inputs: ['budgets', 'expenses'],
  ruleVersion: BUDGET_RULE_VERSION,
  candidates: (db, page) => budgetCandidates(db, page),
  dueWithTime: (window) => budgetsDueWithTime(window),
  async evaluate(db, userIds, _providers, thresholds, now, open) {
    const snapshots = await loadBudgetSnapshots(db, userIds, now, open)
    const evaluations = evaluateEach(snapshots, (s) => {
      const tuned = tunedFor(thresholds, BUDGET_TUNABLE, s)
      return explainEvaluation(evaluateBudgets(s, now, tuned.values), tuned.resolved)
    })
    return { evaluations, degraded: false }
  },
  explain: { subject: 'budget', state: budgetSubjectState },
}
