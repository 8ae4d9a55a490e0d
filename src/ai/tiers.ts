/**
 * The tiers of text generation. `analysis` is the strong model (Anthropic), `fast` the cheap,
 * quick one (Gemini Flash), `template` PAM's own text, always there and never failing.
 */
export type ModelTierName = 'analysis' | 'fast'
export type TierName = ModelTierName | 'template'
export type ProviderName = 'anthropic' | 'google'

export interface ModelTier {
  tier: ModelTierName
  provider: ProviderName
  model: string
}

/** What PAM asks models to write, each with the tiers it tries, best first. */
export const PURPOSES = {
  // Frequent and small: the fast model, else the template that is already on screen.
  'alert-text': ['fast'],
  // Daily and worth the strong model; the fast one is still better than a template.
  briefing: ['analysis', 'fast'],
} as const satisfies Record<string, readonly ModelTierName[]>

export type Purpose = keyof typeof PURPOSES

/** Whether any tier that writes for `purpose` is configured (its provider has a key): else only its template can. */
export const servesPurpose = (purpose: Purpose, configured: Readonly<Partial<Record<ModelTierName, ModelTier>>>) =>
  PURPOSES[purpose].some((name) => configured[name] !== undefined)

/** Why a model tier was not called; the ledger and logs carry these codes. */
export type SkipReason =
  | 'no_key'
  | 'circuit_open'
  | 'provider_off'
  | 'user_budget'
  | 'deployment_budget'
  | 'user_disabled'
  | 'failed'

export interface Skip {
  tier: ModelTierName
  reason: SkipReason
}

/**
 * The model tiers to try for `purpose`, in order, and those skipped before any call (no key,
 * circuit open, provider off for the day). Budgets are checked per tier when it is reserved.
 */
export function ladder(
  purpose: Purpose,
  configured: Readonly<Partial<Record<ModelTierName, ModelTier>>>,
  blocked: (tier: ModelTier) => 'circuit_open' | 'provider_off' | undefined,
): { tiers: ModelTier[]; skipped: Skip[] } {
  const tiers: ModelTier[] = []
  const skipped: Skip[] = []
  for (const name of PURPOSES[purpose]) {
    const tier = configured[name]
    const reason = tier ? blocked(tier) : 'no_key'
    if (tier && !reason) tiers.push(tier)
    else skipped.push({ tier: name, reason: reason ?? 'no_key' })
  }
  return { tiers, skipped }
}
