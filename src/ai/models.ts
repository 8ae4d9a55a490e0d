import { createAnthropic } from '@ai-sdk/anthropic'
import { createGoogleGenerativeAI } from '@ai-sdk/google'
import type { LanguageModel } from 'ai'
import type { Config } from '../platform/config.js'
import { boundedFetch, MODEL_MAX_BODY_BYTES } from '../providers/bounded-body.js'
import type { ModelTier, ModelTierName } from './tiers.js'

export interface ConfiguredTier extends ModelTier {
  languageModel: LanguageModel
}

/** The model tiers this deployment has keys for; a tier without a key is absent (templates stand in). */
export function configuredTiers(config: Config): Partial<Record<ModelTierName, ConfiguredTier>> {
  const tiers: Partial<Record<ModelTierName, ConfiguredTier>> = {}
  // A provider's answer is read with a cap, as every provider's is.
  const fetch = boundedFetch(MODEL_MAX_BODY_BYTES)
  if (config.ANTHROPIC_API_KEY) {
    const anthropic = createAnthropic({ apiKey: config.ANTHROPIC_API_KEY, baseURL: config.ANTHROPIC_BASE_URL, fetch })
    tiers.analysis = {
      tier: 'analysis',
      provider: 'anthropic',
      model: config.AI_ANALYSIS_MODEL,
      languageModel: anthropic(config.AI_ANALYSIS_MODEL),
    }
  }
  if (config.GEMINI_API_KEY) {
    const google = createGoogleGenerativeAI({ apiKey: config.GEMINI_API_KEY, baseURL: config.GEMINI_BASE_URL, fetch })
    tiers.fast = {
      tier: 'fast',
      provider: 'google',
      model: config.AI_FAST_MODEL,
      languageModel: google(config.AI_FAST_MODEL),
    }
  }
  return tiers
}
