import type { ConditionKind, FiringCondition } from './operator-conditions.js'

/** What PAM remembers of a condition it has seen (a row of operator_alerts). */
export interface ConditionState {
  condition: string
  kind: string
  status: 'firing' | 'resolved'
  summary: string
  raisedAt: Date
  resolvedAt: Date | null
  /** When a "raised" message last went out. */
  notifiedAt: Date | null
}

export interface Message {
  condition: string
  kind: ConditionKind | string
  change: 'raised' | 'resolved'
  summary: string
}

export interface Decision {
  /** What to tell the operator. */
  messages: Message[]
  /** The states to store once the messages are out. */
  states: ConditionState[]
}

const announced = (state: ConditionState) => state.notifiedAt !== null && state.notifiedAt >= state.raisedAt

/**
 * Compares what holds now with what was told before: a condition is raised once, and "resolved"
 * once when it clears. One that comes back within `cooldownMs` of its last announcement is
 * recorded silently, and announced if it still holds once the cooldown has passed, so a
 * flapping condition sends at most one message per cooldown.
 */
export function decide(
  firing: readonly FiringCondition[],
  previous: readonly ConditionState[],
  now: Date,
  cooldownMs: number,
): Decision {
  const known = new Map(previous.map((state) => [state.condition, state]))
  const messages: Message[] = []
  const states: ConditionState[] = []
  const coolingDown = (state: ConditionState | undefined) =>
    state?.notifiedAt != null && now.getTime() - state.notifiedAt.getTime() < cooldownMs

  for (const condition of firing) {
    const state = known.get(condition.key)
    if (state?.status === 'firing') {
      if (announced(state) || coolingDown(state)) continue
      messages.push({ condition: condition.key, kind: condition.kind, change: 'raised', summary: condition.summary })
      states.push({ ...state, summary: condition.summary, notifiedAt: now })
      continue
    }
    const silent = coolingDown(state)
    if (!silent) {
      messages.push({ condition: condition.key, kind: condition.kind, change: 'raised', summary: condition.summary })
    }
    states.push({
      condition: condition.key,
      kind: condition.kind,
      status: 'firing',
      summary: condition.summary,
      raisedAt: now,
      resolvedAt: null,
      notifiedAt: silent ? (state?.notifiedAt ?? null) : now,
    })
  }

  const holding = new Set(firing.map((condition) => condition.key))
  for (const state of previous) {
    if (state.status !== 'firing' || holding.has(state.condition)) continue
    if (announced(state)) {
      messages.push({ condition: state.condition, kind: state.kind, change: 'resolved', summary: state.summary })
    }
    states.push({ ...state, status: 'resolved', resolvedAt: now })
  }
  return { messages, states }
}

/** The text of a message, as Slack and email show it. */
export function messageText(message: Message, environment: string): string {
  return message.change === 'raised'
    ? `[PAM ${environment}] ALERT ${message.kind}: ${message.summary}`
    : `[PAM ${environment}] RESOLVED ${message.kind}: ${message.summary}`
}
