import { evaluateEach, type Monitor } from '../../monitor.js'
import { CONTEXT_RULE_VERSION, type ContextThresholds, evaluateContext } from './rule.js'
import { contextCandidates, loadContextSnapshots } from './snapshot.js'

/** The context monitor: its alert kind, queue, tasks, schedule, thresholds, inputs, and how it evaluates. */
export const context: Monitor<'context', ContextThresholds> = {
  name: 'context',
  alertKind: 'context_suggestion',
  queue: 'notifications',
  tasks: { evaluate: 'monitor.context.evaluate', sweep: 'monitor.context.sweep', page: 'monitor.context.page' },
  schedule: { id: 'pam-context-monitoring', pattern: (config) => config.SCHEDULE_CONTEXT_MONITORING },
  thresholds: (config) => ({ minConfidence: config.CONTEXT_MIN_CONFIDENCE }),
  inputs: ['context_signals'],
  ruleVersion: CONTEXT_RULE_VERSION,
  // A suggestion lapses with time alone, but by expiring (housekeeping), not by a new evaluation.
  candidates: (db, page) => contextCandidates(db, page),
  async evaluate(db, userIds, _providers, thresholds, now, open) {
    const snapshots = await loadContextSnapshots(db, userIds, open)
    return { evaluations: evaluateEach(snapshots, (s) => evaluateContext(s, now, thresholds)), degraded: false }
  },
}
