import type { ColumnType, Generated, JSONColumnType } from 'kysely'

import type { AiBudgetDaysTable, AiCallsTable, AiProviderBlocksTable, BriefingsTable } from './ai-tables.js'
import type { CreatedAt, Numeric, Timestamp, UpdatedAt } from './column-types.js'

/** Table types as PostgreSQL returns them; repositories map these to domain types. */
export interface UsersTable {
  id: string
  timezone: Generated<string>
  home_lat: number | null
  home_lon: number | null
  preferences: ColumnType<Record<string, unknown>, string | undefined, string>
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface VehiclesTable {
  id: Generated<string>
  user_id: string
  name: string
  fuel_capacity_l: Numeric
  consumption_l_per_100km: Numeric
  odometer_km: Numeric
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface FuelReadingsTable {
  id: Generated<string>
  user_id: string
  vehicle_id: string
  percent: Numeric
  lat: number | null
  lon: number | null
  observed_at: Timestamp
  created_at: CreatedAt
}

export interface BudgetsTable {
  id: Generated<string>
  user_id: string
  category: string | null
  amount: Numeric
  currency: string
  period: 'week' | 'month'
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface ExpensesTable {
  id: Generated<string>
  user_id: string
  amount: Numeric
  currency: string
  category: string
  spent_at: Timestamp
  note: string | null
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface TripsTable {
  id: Generated<string>
  user_id: string
  name: string
  destination_name: string
  destination_lat: number
  destination_lon: number
  depart_from: ColumnType<string, string, string>
  depart_until: ColumnType<string, string, string>
  days: number
  status: Generated<'planned' | 'active' | 'done' | 'cancelled'>
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface MaintenanceItemsTable {
  id: Generated<string>
  user_id: string
  vehicle_id: string
  name: string
  interval_km: Numeric | null
  interval_days: number | null
  last_done_at: Timestamp | null
  last_done_km: Numeric | null
  cost_estimate: Numeric | null
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface ContextSignalsTable {
  id: Generated<string>
  user_id: string
  kind: string
  value: string
  confidence: Numeric
  lat: number | null
  lon: number | null
  observed_at: Timestamp
  created_at: CreatedAt
}

/** The kind a registered monitor opens (`Monitor.alertKind`): data the registry checks, not a database enum. */
export type AlertKind = string
/** Which monitors read which table: the marking triggers' lookup, written from the registry at start. */
export interface MonitorInputsTable {
  input_table: string
  monitor: string
}

export type AlertPriority = 'low' | 'medium' | 'high' | 'urgent'

export interface AlertsTable {
  id: Generated<string>
  user_id: string
  kind: AlertKind
  priority: AlertPriority
  title: string
  body: string
  data: JSONColumnType<Record<string, unknown>>
  dedupe_key: string
  created_at: CreatedAt
  expires_at: Timestamp | null
  read_at: Timestamp | null
  dismissed_at: Timestamp | null
  resolved_at: Timestamp | null
  /** 'template', or the model that rewrote the title and body. */
  text_source: Generated<string>
  /** Every change takes the next value of one sequence (a trigger): bigint, returned as a string. */
  version: Generated<string>
  /** When the latest change was made, by the database's clock (the same trigger). */
  changed_at: Generated<Date>
  /** Until then the alert is out of the open list and no channel delivers its condition. */
  snoozed_until: Timestamp | null
  feedback: AlertFeedback | null
  feedback_at: Timestamp | null
}

export type AlertFeedback = 'useful' | 'not_useful'

/** A traveller's own or learned value of a monitor's tunable threshold ('default': they went back to it). */
export interface TravellerThresholdsTable {
  user_id: string
  monitor: string
  name: string
  /** Null exactly when the source is 'default'. */
  value: Numeric | null
  source: 'own' | 'learned' | 'default'
  reason: string | null
  changed_at: Generated<Date>
}

export interface IdempotencyKeysTable {
  user_id: string
  key: string
  request_hash: string
  method: string
  path: string
  status_code: number | null
  response_body: JSONColumnType<object> | null
  /** Updatable: a key taken over after 24 h (or abandoned mid-request) starts its day again. */
  created_at: UpdatedAt
  completed_at: Timestamp | null
  /** The request holding the key (null: claimed before claims were named); a new one on each take-over. */
  claim: string | null
}

export interface MonitorRunsTable {
  id: Generated<string>
  monitor: string
  started_at: CreatedAt
  finished_at: Timestamp | null
  users_evaluated: Generated<number>
  alerts_created: Generated<number>
  alerts_resolved: Generated<number>
  status: 'running' | 'succeeded' | 'degraded' | 'failed'
  error: string | null
  /** Null while the sweep is still queueing its pages. */
  pages_total: number | null
  pages_done: Generated<number>
  pages_degraded: Generated<number>
  scope: Generated<SweepScope>
  /** The rule versions and thresholds the run applied (a change makes the next run full). */
  rules: string | null
}

/** `full`: every candidate; `changed`: the users writes marked and those time alone changed. */
export type SweepScope = 'full' | 'changed'

export interface CacheEntriesTable {
  key: string
  value: JSONColumnType<object>
  expires_at: Timestamp
}

export interface WorkerHeartbeatsTable {
  id: string
  role: string
  host: string
  pid: number
  queues: string[]
  concurrency: number
  started_at: Timestamp
  last_beat_at: Timestamp
}

export interface TaskLeasesTable {
  task: string
  /** The worker holding it (its heartbeat id). */
  holder: string
  job_id: Generated<string>
  acquired_at: UpdatedAt
  expires_at: Timestamp
}

export interface EvaluationMarksTable {
  user_id: string
  monitor: string
  /** From a sequence: bigint comes back as a string, compared as text only for equality. */
  version: string
  marked_at: CreatedAt
}

export interface EvaluationFencesTable {
  user_id: string
  monitor: string
  applies: string
  /** When the latest evaluation was applied (null: before this was recorded). */
  evaluated_at: Date | null
}

export interface MonitorRunPagesTable {
  run_id: string
  page: number
}

export interface NotificationSettingsTable {
  user_id: string
  email_address: string | null
  email_enabled: boolean
  email_min_priority: AlertPriority
  push_enabled: boolean
  push_min_priority: AlertPriority
  /** Local 'HH:MM' in the traveller's timezone; both or neither. */
  quiet_start: string | null
  quiet_end: string | null
  digest_enabled: boolean
  digest_at: string
  ai_enabled: boolean
  /** When the owner of email_address followed its confirmation link; null: unconfirmed. */
  email_verified_at: Date | null
  updated_at: UpdatedAt
}

export interface OperatorAlertsTable {
  condition: string
  kind: string
  status: 'firing' | 'resolved'
  summary: string
  raised_at: Timestamp
  resolved_at: Timestamp | null
  notified_at: Timestamp | null
}

export interface ScheduleRunsTable {
  schedule: string
  last_run_at: Timestamp
}

export interface ProviderOutcomesTable {
  provider: string
  minute: Timestamp
  succeeded: Generated<number>
  failed: Generated<number>
}

export type DeliveryChannel = 'email' | 'push'
export type DeliveryStatus = 'queued' | 'sending' | 'sent' | 'deferred' | 'suppressed' | 'failed'

export interface PushSubscriptionsTable {
  id: Generated<string>
  user_id: string
  endpoint: string
  p256dh: string
  auth: string
  created_at: CreatedAt
}

export interface DigestsTable {
  id: Generated<string>
  user_id: string
  channel: DeliveryChannel
  kind: 'quiet' | 'daily'
  window_at: Timestamp
  status: 'sending' | 'sent' | 'failed' | 'empty'
  alert_count: Generated<number>
  attempts: Generated<number>
  error: string | null
  claimed_by: string
  claimed_at: UpdatedAt
  created_at: CreatedAt
  sent_at: Timestamp | null
}

export interface DeliveriesTable {
  id: Generated<string>
  alert_id: string
  user_id: string
  channel: DeliveryChannel
  status: DeliveryStatus
  reason: string | null
  attempts: Generated<number>
  error: string | null
  defer_until: Timestamp | null
  digest_id: string | null
  /** The worker (heartbeat id) holding the claim: only a dead one's `sending` claim is taken over. */
  claimed_by: string | null
  /** Taken over from a worker that stopped mid-send: that attempt may have gone out unrecorded. */
  in_doubt: Generated<boolean>
  sent_at: Timestamp | null
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface UnsubscribeUsesTable {
  link_id: string
  user_id: string
  used_at: CreatedAt
}

/** Zone names PostgreSQL reads as names: statements join it rather than read a traveller's text. */
export interface TimeZonesTable {
  name: string
}

/** Postgres-only mode's shared throttle counters: hits per key in a fixed window. */
export interface RateLimitHitsTable {
  key: string
  hits: number
  resets_at: Date
}

/** Emails sent to a traveller's address, for the caps per traveller and per address (digest of the address). */
export interface EmailSendsTable {
  id: Generated<string>
  user_id: string
  address_digest: string
  kind: 'alert' | 'digest' | 'confirmation'
  sent_at: Date
}

export interface Database {
  users: UsersTable
  vehicles: VehiclesTable
  fuel_readings: FuelReadingsTable
  budgets: BudgetsTable
  expenses: ExpensesTable
  trips: TripsTable
  maintenance_items: MaintenanceItemsTable
  context_signals: ContextSignalsTable
  alerts: AlertsTable
  idempotency_keys: IdempotencyKeysTable
  monitor_runs: MonitorRunsTable
  worker_heartbeats: WorkerHeartbeatsTable
  task_leases: TaskLeasesTable
  evaluation_marks: EvaluationMarksTable
  monitor_inputs: MonitorInputsTable
  evaluation_fences: EvaluationFencesTable
  monitor_run_pages: MonitorRunPagesTable
  cache_entries: CacheEntriesTable
  notification_settings: NotificationSettingsTable
  operator_alerts: OperatorAlertsTable
  schedule_runs: ScheduleRunsTable
  provider_outcomes: ProviderOutcomesTable
  ai_budget_days: AiBudgetDaysTable
  ai_calls: AiCallsTable
  ai_provider_blocks: AiProviderBlocksTable
  briefings: BriefingsTable
  push_subscriptions: PushSubscriptionsTable
  digests: DigestsTable
  deliveries: DeliveriesTable
  unsubscribe_uses: UnsubscribeUsesTable
  time_zones: TimeZonesTable
  rate_limit_hits: RateLimitHitsTable
  email_sends: EmailSendsTable
  traveller_thresholds: TravellerThresholdsTable
}
