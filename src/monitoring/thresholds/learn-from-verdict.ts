import { sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import type { Alert } from '../alerts/alert-repository.js'
import { monitorOpening, type Thresholds } from '../registry.js'
import { LEARN_WITHIN_DAYS, learnedStep } from './threshold-learning.js'
import { notUsefulVerdicts, saveLearnedThreshold, thresholdsForTraveller } from './threshold-repository.js'

/**
 * After a 'not useful' verdict, in its transaction: if it was the traveller's third on alerts at
 * the threshold's current value (learnedStep), the threshold moves one step and the traveller is
 * marked for the monitor's evaluation. A traveller's verdicts are learned from one at a time (a
 * lock), so two at once cannot both move it. Returns the monitor and threshold that moved.
 */
export async function learnFromVerdict(
  trx: Db,
  userId: string,
  alert: Pick<Alert, 'kind' | 'priority'>,
  defaults: Thresholds,
): Promise<{ monitor: string; threshold: string } | undefined> {
  const monitor = monitorOpening(alert.kind)
  const tunable = monitor?.tunable ?? []
  const learning = tunable.find((t) => t.priority === alert.priority && t.learns)
  if (!monitor || !learning) return undefined
  await sql`select pg_advisory_xact_lock(hashtext('thresholds:' || ${userId}))`.execute(trx)
  const resolved = await thresholdsForTraveller(trx, monitor, defaults.get(monitor.name), userId)
  const current = resolved.find((t) => t.name === learning.name)
  if (!current || current.source === 'own') return undefined
  const verdicts = await notUsefulVerdicts(trx, {
    userId,
    kind: alert.kind,
    priority: alert.priority,
    value: current.value,
    since: current.changedAt,
    days: LEARN_WITHIN_DAYS,
  })
  const step = learnedStep(tunable, resolved, learning.name, verdicts)
  if (!step) return undefined
  return (await saveLearnedThreshold(trx, userId, monitor.name, { name: learning.name, ...step }))
    ? { monitor: monitor.name, threshold: learning.name }
    : undefined
}
