import type { AlertKind, AlertPriority } from '../../platform/db/schema.js'

/**
 * What a monitor wants to be true for one condition (a vehicle's fuel, a budget's period, ...).
 * `condition` names the thing watched; `variant` tells apart alerts of one condition (priority,
 * period, window). Together they are the dedupe key: one open alert per condition and variant.
 */
export interface AlertDraft {
  kind: AlertKind
  priority: AlertPriority
  condition: string
  variant: string
  title: string
  body: string
  /** Always `threshold`, `observedAt` and `ruleVersion`, plus the kind's fields (docs/api.md). */
  data: Record<string, unknown> & { threshold: number; observedAt: string; ruleVersion: number }
  expiresAt?: string
}

/**
 * A monitor's verdict for one user: every condition it looked at, and the alerts that should be
 * open for them now. A condition looked at with no draft has cleared: its open alerts resolve.
 */
export interface Evaluation {
  conditions: string[]
  drafts: AlertDraft[]
}

export const dedupeKey = (draft: Pick<AlertDraft, 'condition' | 'variant'>) => `${draft.condition}|${draft.variant}`

/** The condition a dedupe key belongs to. */
export function conditionOf(key: string): string {
  const bar = key.indexOf('|')
  return bar < 0 ? key : key.slice(0, bar)
}
