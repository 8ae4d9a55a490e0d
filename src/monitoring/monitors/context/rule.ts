import type { AlertDraft, Evaluation } from '../../alerts/alert-draft.js'

export const CONTEXT_RULE_VERSION = 1
const SUGGESTION_TTL_MS = 24 * 3600 * 1000

export interface ContextThresholds {
  /** A signal must be more confident than this to change the context. */
  minConfidence: number
}

export interface Signal {
  kind: string
  value: string
  confidence: number
  observedAt: string
}

export interface ContextSnapshot {
  /** The user's recent signals of each kind, oldest first (confidence filtering is the rule's). */
  signals: Signal[]
  openConditions: string[]
}

export const contextCondition = (kind: string) => `context:${kind}`

const SUGGESTIONS: Record<string, (value: string, previous: string | null) => string> = {
  location: (value) => `You're near ${value}: want fuel stations and campgrounds close by?`,
  activity: (value) =>
    value === 'driving'
      ? 'Drive safe: PAM keeps alerts short until you stop.'
      : `Now ${value}: a good moment to log today's fuel and expenses.`,
  arrival: (value) => `Arrived at ${value}: check in, and note the trip's fuel and costs.`,
  departure: (value) => `Leaving ${value}: check your fuel and the weather ahead.`,
  weather: (value, previous) =>
    `Weather turned ${value}${previous ? ` (was ${previous})` : ''}: secure the awning and loose gear.`,
}

/**
 * The current context is the latest accepted value per kind; a signal above the confidence bar
 * whose value differs from it changes it and makes one suggestion, which expires 24 h after
 * the change. Signals at or below the bar change nothing. The same value again is no change.
 */
export function evaluateContext(snapshot: ContextSnapshot, now: Date, t: ContextThresholds): Evaluation {
  const conditions = new Set(snapshot.openConditions)
  const drafts: AlertDraft[] = []
  const byKind = new Map<string, Signal[]>()
  for (const signal of snapshot.signals) byKind.set(signal.kind, [...(byKind.get(signal.kind) ?? []), signal])
  for (const [kind, signals] of byKind) {
    const suggest = SUGGESTIONS[kind]
    if (!suggest) continue
    conditions.add(contextCondition(kind))
    let current: string | null = null
    let change: { previous: string | null; signal: Signal } | null = null
    for (const signal of signals) {
      if (signal.confidence <= t.minConfidence || signal.value === current) continue
      change = { previous: current, signal }
      current = signal.value
    }
    if (!change) continue
    const expiresAt = Date.parse(change.signal.observedAt) + SUGGESTION_TTL_MS
    if (expiresAt <= now.getTime()) continue
    drafts.push({
      kind: 'context_suggestion',
      priority: 'low',
      condition: contextCondition(kind),
      variant: `${change.previous ?? ''}->${change.signal.value}@${change.signal.observedAt}`,
      title: `${kind[0]?.toUpperCase()}${kind.slice(1)}: ${change.signal.value}`,
      body: suggest(change.signal.value, change.previous),
      expiresAt: new Date(expiresAt).toISOString(),
      data: {
        threshold: t.minConfidence,
        observedAt: change.signal.observedAt,
        ruleVersion: CONTEXT_RULE_VERSION,
        signalKind: kind,
        value: change.signal.value,
        previousValue: change.previous,
        confidence: change.signal.confidence,
        suggestion: suggest(change.signal.value, change.previous),
      },
    })
  }
  return { conditions: [...conditions], drafts }
}
