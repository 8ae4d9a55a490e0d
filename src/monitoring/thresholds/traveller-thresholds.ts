import type { AlertPriority } from '../../platform/db/schema.js'
import type { Evaluation } from '../alerts/alert-draft.js'

/**
 * Per-traveller thresholds, pure: what a monitor declares tunable, how a traveller's stored values
 * resolve against the defaults (config), how an alert explains the threshold it used. The SQL is
 * in threshold-repository.ts; the learning in threshold-learning.ts.
 */

/** Where the value a traveller's alerts use comes from. */
export type ThresholdSource = 'default' | 'own' | 'learned'

/** The names of a monitor's thresholds; any name where the monitor's type is not known (the registry's list). */
export type ThresholdName<T> = unknown extends T ? string : Extract<keyof T, string>

/** A threshold a traveller may set for themselves, within bounds, and that their verdicts may move. */
export interface TunableThreshold<Name extends string = string> {
  name: Name
  /** The priority of the alerts it opens: the verdicts on those are what it learns from. */
  priority: AlertPriority
  min: number
  max: number
  /** How far one learning step moves it. */
  step: number
  /** Which way the monitor speaks less (fuel: a lower percent; a budget: a higher ratio): learning moves it so. */
  quieter: 'down' | 'up'
  /** Whether 'not useful' verdicts move it: the lower priority's threshold does; the last alarm stays put. */
  learns: boolean
  /** 'percent' (a fuel level) or 'ratio' (of a budget, shown as a percent). */
  unit: 'percent' | 'ratio'
  description: string
}

/** A traveller's row for one threshold, as the repository maps it ('default': they went back to it). */
export interface StoredThreshold {
  name: string
  value: number | null
  source: 'own' | 'learned' | 'default'
  reason: string | null
  changedAt: string
}

/**
 * One threshold as it applies to one traveller: its declaration (less the way learning moves it),
 * the value their alerts use, where it comes from, and what they may set.
 */
export interface ResolvedThreshold extends Omit<TunableThreshold, 'quieter'> {
  value: number
  source: ThresholdSource
  /** Why a learned value (`you marked three alerts at 20 % not useful`); null otherwise. */
  reason: string | null
  default: number
  /** When the traveller's value (or their return to the default) was set; null: never. */
  changedAt: string | null
}

/** A monitor's default of a threshold, read from its thresholds object (config). */
function defaultOf(defaults: unknown, name: string): number {
  const value = typeof defaults === 'object' && defaults !== null ? Reflect.get(defaults, name) : undefined
  if (typeof value !== 'number') throw new Error(`threshold ${name} is declared tunable but has no numeric default`)
  return value
}

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value))

/**
 * Each tunable threshold for one traveller: their own value, else a learned one, else the
 * default; a stored value is held within the bounds the monitor declares now (they may have
 * narrowed since it was stored).
 */
export function resolveThresholds(
  defaults: unknown,
  tunable: readonly TunableThreshold[],
  stored: readonly StoredThreshold[],
): ResolvedThreshold[] {
  return tunable.map(({ quieter: _quieter, ...declared }) => {
    const fallback = defaultOf(defaults, declared.name)
    const row = stored.find((s) => s.name === declared.name)
    const own = row && row.source !== 'default' && row.value !== null ? row : undefined
    return {
      ...declared,
      value: own?.value == null ? fallback : clamp(own.value, declared.min, declared.max),
      source: own ? own.source : 'default',
      reason: own?.source === 'learned' ? own.reason : null,
      default: fallback,
      changedAt: row?.changedAt ?? null,
    }
  })
}

/** What a monitor's rule takes for one traveller, and where each value came from (to explain it). */
export function tunedFor<T extends object>(
  defaults: T,
  tunable: readonly TunableThreshold[],
  snapshot: { thresholds?: readonly StoredThreshold[] },
): { values: T; resolved: ResolvedThreshold[] } {
  const resolved = resolveThresholds(defaults, tunable, snapshot.thresholds ?? [])
  return { values: travellerValues(defaults, resolved), resolved }
}

/** The monitor's thresholds with this traveller's values in place of the defaults. */
export const travellerValues = <T extends object>(defaults: T, resolved: readonly ResolvedThreshold[]): T => ({
  ...defaults,
  ...Object.fromEntries(resolved.map((threshold) => [threshold.name, threshold.value])),
})

/**
 * Problems of a set of values (the field is the threshold's name): out of bounds, or out of order
 * with its neighbour (the monitor lists its thresholds from the lowest priority up; each must
 * sound later than the one before, or a priority would never be reached).
 */
export function thresholdProblems(
  tunable: readonly TunableThreshold[],
  values: ReadonlyMap<string, number>,
): { name: string; problem: string }[] {
  const problems: { name: string; problem: string }[] = []
  tunable.forEach((threshold, index) => {
    const value = values.get(threshold.name)
    if (value === undefined) return
    if (value < threshold.min || value > threshold.max) {
      problems.push({ name: threshold.name, problem: `must be between ${threshold.min} and ${threshold.max}` })
      return
    }
    const before = tunable[index - 1]
    const previous = before ? values.get(before.name) : undefined
    if (!before || previous === undefined) return
    const inOrder = threshold.quieter === 'down' ? value < previous : value > previous
    if (!inOrder) {
      const word = threshold.quieter === 'down' ? 'below' : 'above'
      problems.push({ name: threshold.name, problem: `must be ${word} ${before.name} (${previous})` })
    }
  })
  return problems
}

/** A threshold's value as a traveller reads it: `15 %` (a ratio as a percent too). */
export const shown = (value: number, unit: 'percent' | 'ratio') =>
  `${unit === 'ratio' ? Math.round(value * 1000) / 10 : value} %`

/**
 * Each draft says which threshold it used and why it is that one: `thresholdSource` and
 * `thresholdReason` in its data, and a sentence in its body when the traveller's value, not the
 * default, made it ("We alert you at 15 % because you marked three alerts at 20 % not useful.").
 */
export function explainEvaluation(evaluation: Evaluation, resolved: readonly ResolvedThreshold[]): Evaluation {
  return {
    ...evaluation,
    drafts: evaluation.drafts.map((draft) => {
      const threshold = resolved.find((t) => t.priority === draft.priority)
      if (!threshold) return draft
      const at = shown(threshold.value, threshold.unit)
      const reason =
        threshold.source === 'learned' ? threshold.reason : threshold.source === 'own' ? 'you set it' : null
      return {
        ...draft,
        body: reason ? `${draft.body} We alert you at ${at} because ${reason}.` : draft.body,
        data: { ...draft.data, thresholdSource: threshold.source, thresholdReason: reason },
      }
    }),
  }
}
