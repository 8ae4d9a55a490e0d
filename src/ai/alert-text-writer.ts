import { notificationSettingsOf } from '../delivery/notification-settings-repository.js'
import type { Db } from '../platform/db/database.js'
import { type AlertForText, alertTextRequest, wantsModelText } from './alert-text.js'
import type { AlertText } from './structured-text.js'
import type { TextGenerator } from './text-generator.js'

export interface AlertTextDeps {
  db: Db
  generate: TextGenerator
  /** The alert as the store has it now: undefined when it is gone or not this user's. */
  loadAlert(
    userId: string,
    alertId: string,
  ): Promise<(AlertForText & { open: boolean; textSource: string }) | undefined>
  /** Stores the new text of a still-open template alert and tells its streams (the alert store). */
  storeText(userId: string, alertId: string, text: AlertText, source: string): Promise<boolean>
}

export type AlertTextOutcome = 'rewritten' | 'kept' | 'gone' | 'ai_disabled' | 'not_wanted'

/**
 * Rewrites one alert's title and body with the fast model, from the alert alone. The template
 * text is on screen already; when no model can write (no key, budget, failures) it simply stays.
 */
export async function rewriteAlertText(
  deps: AlertTextDeps,
  payload: { userId: string; alertId: string },
  options: { retriesLeft: boolean; signal?: AbortSignal },
): Promise<AlertTextOutcome> {
  const alert = await deps.loadAlert(payload.userId, payload.alertId)
  if (!alert?.open || alert.textSource !== 'template') return 'gone'
  if (!wantsModelText(alert)) return 'not_wanted'
  const settings = await notificationSettingsOf(deps.db, payload.userId)
  if (!settings.ai.enabled) return 'ai_disabled'
  const result = await deps.generate(
    alertTextRequest({ ...alert, userId: payload.userId }, { modelsAllowed: true, ...options }),
  )
  if (result.source === 'template') return 'kept'
  return (await deps.storeText(payload.userId, payload.alertId, result.value, result.source)) ? 'rewritten' : 'gone'
}
