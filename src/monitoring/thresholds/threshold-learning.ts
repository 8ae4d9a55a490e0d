import type { ResolvedThreshold, TunableThreshold } from './traveller-thresholds.js'
import { shown, thresholdProblems } from './traveller-thresholds.js'

/** 'Not useful' verdicts on alerts at one value that move it one step, and how far back they count. */
export const LEARN_AFTER_VERDICTS = 3
export const LEARN_WITHIN_DAYS = 30

const WORDS = ['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine']
const inWords = (n: number) => WORDS[n] ?? String(n)

/**
 * Where a traveller's verdicts move a threshold: after LEARN_AFTER_VERDICTS alerts at its
 * current value marked not useful (counted by the caller within LEARN_WITHIN_DAYS, and since
 * the traveller last set it), one declared step the quieter way. Never for a value the traveller
 * set (theirs wins), never past the bounds nor past its neighbour; undefined when it stays.
 */
export function learnedStep(
  tunable: readonly TunableThreshold[],
  resolved: readonly ResolvedThreshold[],
  name: string,
  notUseful: number,
): { value: number; reason: string } | undefined {
  const declared = tunable.find((t) => t.name === name)
  const current = resolved.find((t) => t.name === name)
  if (!declared?.learns || !current || current.source === 'own' || notUseful < LEARN_AFTER_VERDICTS) return undefined
  const moved = current.value + (declared.quieter === 'down' ? -declared.step : declared.step)
  // Steps are decimal (0.05): keep 0.8 + 0.05 at 0.85, not 0.8500000000000001.
  const value = Math.round(moved * 1e6) / 1e6
  const values = new Map(resolved.map((t) => [t.name, t.name === name ? value : t.value]))
  if (thresholdProblems(tunable, values).length > 0) return undefined
  return {
    value,
    reason: `you marked ${inWords(notUseful)} alerts at ${shown(current.value, declared.unit)} not useful`,
  }
}
