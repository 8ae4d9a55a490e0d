import type { QueueName } from '../platform/backend/queue-names.js'
import type { Config } from '../platform/config.js'
import type { Db } from '../platform/db/database.js'
import type { AlertKind, AlertPriority } from '../platform/db/schema.js'
import type { PlacesProvider } from '../providers/places/places-provider.js'
import type { WeatherProvider } from '../providers/weather/weather-provider.js'
import type { Evaluation } from './alerts/alert-draft.js'
import type { OpenConditions } from './alerts/alert-repository.js'
import type { CandidatePage, DueWithTime, TimeWindow } from './candidates.js'
import type { ThresholdName, TunableThreshold } from './thresholds/traveller-thresholds.js'

/** The outside answers a monitor may need besides its snapshot. */
export interface MonitorProviders {
  places: PlacesProvider
  weather: WeatherProvider
}

/**
 * The tables whose rows are monitors' input. A write to one marks its users for evaluation by the
 * monitors that read it, in the writing statement (a trigger that looks the table up in
 * `monitor_inputs`, which each start fills from the registry: monitor-inputs.ts), whoever writes;
 * `monitorsReading` tells the API which evaluations to ask for after its writes.
 */
export type InputTable =
  | 'vehicles'
  | 'fuel_readings'
  | 'budgets'
  | 'expenses'
  | 'trips'
  | 'maintenance_items'
  | 'context_signals'

export interface Verdicts {
  evaluations: Map<string, Evaluation>
  /** A provider could not answer: alerts went out without its data. */
  degraded: boolean
}

/** One input a monitor read about a subject: its name, what it held, and when it was observed (null: a setting). */
export interface StateInput {
  name: string
  at: string | null
  value: Record<string, unknown> | null
}

/** One subject (a vehicle, a budget…) as its monitor sees it now: what it read, and its pure rule's evaluation of that alone. */
export interface SubjectState {
  /** The condition its alerts carry (the first part of their dedupe key). */
  condition: string
  inputs: StateInput[]
  evaluation: Evaluation
}

/**
 * Everything about one monitor, declared in its folder (monitors/<name>/monitor.ts) beside its
 * pure rule and its snapshot query. The task declarations and payloads, the schedules, the
 * evaluation trigger's monitor names and the alert kinds are derived from the registry's entries.
 */
export interface Monitor<Name extends string = string, T = unknown> {
  name: Name
  /** The kind of the alerts it opens and resolves. */
  alertKind: AlertKind
  /**
   * The lowest priority of its alerts that goes out through the traveller's quiet hours (an
   * `urgent` one always does): for a condition worse than being woken at night.
   */
  wakesAt?: AlertPriority
  queue: QueueName
  /** Written out, not built from the name, so a search for a task name finds its monitor. */
  tasks: { evaluate: `monitor.${Name}.evaluate`; sweep: `monitor.${Name}.sweep`; page: `monitor.${Name}.page` }
  /** The sweep's schedule: its BullMQ scheduler id and its cadence (a cron pattern, usually a SCHEDULE_* setting). */
  schedule: { id: `pam-${string}`; pattern(config: Config): string }
  thresholds(config: Config): T
  /**
   * The thresholds a traveller may set for themselves and that their verdicts may move, from the
   * lowest priority's up (GET /v1/me/monitors). Absent or empty: everyone has the defaults.
   */
  tunable?: readonly TunableThreshold<ThresholdName<T>>[]
  /** The tables whose writes can change its verdict: a write to one marks the user for it. */
  inputs: readonly InputTable[]
  /** The pure rule's version: bump it when the rule changes, and the next sweep looks at every candidate. */
  ruleVersion: number
  /** One keyset page of every user the rule may concern: a full sweep (the first, or after the rules changed). */
  candidates(db: Db, page: CandidatePage, thresholds: T, now: Date): Promise<string[]>
  /**
   * The users whose condition may have changed with time alone in a window: what a sweep visits
   * beside the users writes marked. Absent when only writes change the rule's input (fuel).
   */
  dueWithTime?(window: TimeWindow, thresholds: T): DueWithTime
  /**
   * Loads the users' snapshots, asks the providers, runs the pure rule per user. `open`: the
   * conditions of each user's open alerts of its kind, when the caller read them already (with
   * the evaluation marks, in the same statement); else the snapshot reads them.
   */
  evaluate(
    db: Db,
    userIds: readonly string[],
    providers: MonitorProviders,
    thresholds: T,
    now: Date,
    open?: OpenConditions,
  ): Promise<Verdicts>
  /**
   * How it explains itself (GET /v1/monitors/:kind/state: why, or why not): what its subjects are
   * (a vehicle, a budget), and one subject of a traveller through its own snapshot query and pure
   * rule, providers not asked (undefined: no such subject of theirs). Absent: not explained yet.
   */
  explain?: {
    subject: string
    state(db: Db, userId: string, subjectId: string, thresholds: T, now: Date): Promise<SubjectState | undefined>
  }
}

/** Runs a monitor's pure evaluate over every user's snapshot. */
export const evaluateEach = <S>(snapshots: ReadonlyMap<string, S>, evaluate: (snapshot: S) => Evaluation) =>
  new Map([...snapshots].map(([userId, snapshot]) => [userId, evaluate(snapshot)]))
