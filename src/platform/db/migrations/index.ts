import type { Migration } from 'kysely'
import * as initial from './2026_11_23_0001_initial.js'
import * as taskLeases from './2026_11_23_0002_task_leases.js'
import * as monitorPagesAndCache from './2026_11_23_0003_monitor_pages_and_cache.js'
import * as evaluationMarks from './2026_11_23_0004_evaluation_marks.js'
import * as notificationSettings from './2026_11_23_0005_notification_settings.js'
import * as ai from './2026_11_23_0006_ai.js'
import * as deliveries from './2026_11_23_0007_deliveries.js'
import * as operatorAlerts from './2026_11_23_0008_operator_alerts.js'
import * as sweepScope from './2026_11_23_0009_sweep_scope.js'
import * as evaluationMarkTriggers from './2026_12_04_0010_evaluation_mark_triggers.js'
import * as alertChanges from './2026_12_04_0011_alert_changes.js'
import * as idempotencyClaims from './2026_12_04_0012_idempotency_claims.js'
import * as timeZones from './2026_12_04_0013_time_zones.js'
import * as rateLimitHits from './2026_12_04_0014_rate_limit_hits.js'
import * as emailConfirmation from './2026_12_04_0015_email_confirmation.js'
import * as monitorsAsData from './2026_12_06_0016_monitors_as_data.js'
import * as snoozeFeedbackThresholds from './2026_12_06_0017_snooze_feedback_thresholds.js'
import * as evaluationTimes from './2026_12_06_0018_evaluation_times.js'
import * as deliveriesInDoubt from './2026_12_06_0019_deliveries_in_doubt.js'
import * as deliveriesUserThroughAlert from './2026_12_07_0020_deliveries_user_through_alert.js'

/** Listed explicitly (not read from disk) so source and build run the same set. Append only. */
export const migrations: Record<string, Migration> = {
  '2026_11_23_0001_initial': initial,
  '2026_11_23_0002_task_leases': taskLeases,
  '2026_11_23_0003_monitor_pages_and_cache': monitorPagesAndCache,
  '2026_11_23_0004_evaluation_marks': evaluationMarks,
  '2026_11_23_0005_notification_settings': notificationSettings,
  '2026_11_23_0008_operator_alerts': operatorAlerts,
  '2026_11_23_0006_ai': ai,
  '2026_11_23_0007_deliveries': deliveries,
  '2026_11_23_0009_sweep_scope': sweepScope,
  '2026_12_04_0010_evaluation_mark_triggers': evaluationMarkTriggers,
  '2026_12_04_0011_alert_changes': alertChanges,
  '2026_12_04_0012_idempotency_claims': idempotencyClaims,
  '2026_12_04_0013_time_zones': timeZones,
  '2026_12_04_0014_rate_limit_hits': rateLimitHits,
  '2026_12_04_0015_email_confirmation': emailConfirmation,
  '2026_12_06_0016_monitors_as_data': monitorsAsData,
  '2026_12_06_0017_snooze_feedback_thresholds': snoozeFeedbackThresholds,
  '2026_12_06_0018_evaluation_times': evaluationTimes,
  '2026_12_06_0019_deliveries_in_doubt': deliveriesInDoubt,
  '2026_12_07_0020_deliveries_user_through_alert': deliveriesUserThroughAlert,
}
