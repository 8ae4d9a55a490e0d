import { notificationSettingsOf } from '../../delivery/notification-settings-repository.js'
import type { Db } from '../../platform/db/database.js'
import { briefingRequest, buildDigest } from '../briefing-digest.js'
import type { TextGenerator } from '../text-generator.js'
import type { Skip } from '../tiers.js'
import { loadBriefingInputs } from './briefing-inputs-repository.js'
import { completeBriefing, pendingBriefing } from './briefing-repository.js'

/** Why a template was written: AI turned off by the traveller, or each model tier and why it was passed over. */
export function templateReason(modelsAllowed: boolean, skipped: readonly Skip[]): string {
  if (!modelsAllowed) return 'ai_disabled'
  return skipped.length > 0 ? skipped.map((skip) => `${skip.tier}:${skip.reason}`).join(',') : 'no_model'
}

/**
 * Writes one pending briefing: the traveller's data as a compact digest, the analysis model (or
 * the tiers below it, down to the template), stored once. A briefing already written is left as it is.
 */
export async function writeBriefing(
  deps: { db: Db; generate: TextGenerator; now?: () => Date },
  briefingId: string,
  options: { retriesLeft: boolean; signal?: AbortSignal },
): Promise<{ written: boolean; textSource?: string }> {
  const { db } = deps
  const briefing = await pendingBriefing(db, briefingId)
  if (!briefing) return { written: false }
  const now = deps.now?.() ?? new Date()
  const settings = await notificationSettingsOf(db, briefing.user_id)
  const digest = buildDigest(await loadBriefingInputs(db, briefing.user_id, briefing.period, now), now)
  const modelsAllowed = settings.ai.enabled
  const result = await deps.generate(briefingRequest(briefing.user_id, digest, { modelsAllowed, ...options }))
  const written = await completeBriefing(db, briefingId, {
    text: result.value,
    textSource: result.source,
    costUsd: result.costUsd,
    templateReason: result.source === 'template' ? templateReason(modelsAllowed, result.skipped) : null,
  })
  return { written, textSource: result.source }
}
