import type { AlertKind, AlertPriority } from '../platform/db/schema.js'
import { type AlertText, alertTextShape, BODY_MAX, TITLE_MAX } from './structured-text.js'
import type { TextRequest } from './text-generator.js'

export interface AlertForText {
  kind: AlertKind
  priority: AlertPriority
  title: string
  body: string
  data: Record<string, unknown>
}

/** Which alerts the fast model rewrites: the urgent ones and suggestions; the rest keep their template. */
export const wantsModelText = (alert: Pick<AlertForText, 'kind' | 'priority'>) =>
  alert.kind === 'context_suggestion' || alert.priority === 'high' || alert.priority === 'urgent'

/** The same for every alert, so Anthropic can cache it and Gemini's implicit cache can match it. */
export const ALERT_TEXT_INSTRUCTIONS = [
  'You write the notification for a proactive assistant used by people who live and travel in RVs and campervans.',
  'You get one alert as JSON: its kind, priority and the facts a monitor found. Write a title and a body for it.',
  `The title has at most ${TITLE_MAX} characters and says what matters first. The body has at most ${BODY_MAX} characters and says what to do next.`,
  'Use only the facts given; never invent places, prices, dates or numbers. Round numbers as a person would say them.',
  'Plain text only: no markdown, no lists, no emoji, no quotes around the text. Reply with the JSON object only.',
].join('\n')

// Ids mean nothing to a reader and positions are more precise than the text needs.
const DROPPED = new Set(['vehicleId', 'budgetId', 'tripId', 'itemId', 'ruleVersion'])
const POSITION = new Set(['lat', 'lon'])

/** The facts of an alert as a prompt carries them: ids dropped, positions rounded to about 1 km. */
export function alertFacts(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(alertFacts)
  if (!value || typeof value !== 'object') return value
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !DROPPED.has(key))
      .map(([key, inner]) => [
        key,
        POSITION.has(key) && typeof inner === 'number' ? Math.round(inner * 100) / 100 : alertFacts(inner),
      ]),
  )
}

/** What the fast model is asked for an alert: nothing of the user's beyond the alert itself. */
export function alertTextRequest(
  alert: AlertForText & { userId: string },
  options: Pick<TextRequest<AlertText>, 'modelsAllowed' | 'retriesLeft' | 'signal'>,
): TextRequest<AlertText> {
  return {
    purpose: 'alert-text',
    userId: alert.userId,
    instructions: ALERT_TEXT_INSTRUCTIONS,
    prompt: JSON.stringify({ kind: alert.kind, priority: alert.priority, facts: alertFacts(alert.data) }),
    shape: alertTextShape,
    maxOutputTokens: 300,
    template: () => ({ title: alert.title, body: alert.body }),
    ...options,
  }
}
