// The AI_PRICES setting's default lives beside the config that reads it; ai/prices.ts computes costs from it.

/** US dollars per million tokens, as the providers publish them. */
export interface ModelPrice {
  input: number
  output: number
  /** Writing the prompt cache (Anthropic: 1.25 × input for the 5-minute cache). */
  cacheWrite: number
  /** Reading the prompt cache (Anthropic: 0.1 × input; Gemini's implicit cache: 0.1 × input). */
  cacheRead: number
}

export type PriceTable = Readonly<Record<string, ModelPrice>>

/**
 * The list prices of the default models (November 2026). AI_PRICES adds or overrides entries;
 * a configured model without a price is refused at start, so every call has a known cost.
 */
export const DEFAULT_PRICES: PriceTable = {
  'claude-sonnet-4-6': { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 },
  'claude-haiku-4-5': { input: 1, output: 5, cacheWrite: 1.25, cacheRead: 0.1 },
  'gemini-2.5-flash': { input: 0.3, output: 2.5, cacheWrite: 0.3, cacheRead: 0.03 },
  'gemini-2.5-flash-lite': { input: 0.1, output: 0.4, cacheWrite: 0.1, cacheRead: 0.01 },
}
