import type { ModelPrice } from '../platform/model-prices.js'

export interface TokenUsage {
  /** Input tokens billed at the plain rate (neither written to nor read from the cache). */
  input: number
  output: number
  cacheWrite: number
  cacheRead: number
}

export const NO_TOKENS: TokenUsage = { input: 0, output: 0, cacheWrite: 0, cacheRead: 0 }

/** What a call with this usage costs, in dollars, rounded to a millionth of a cent. */
export function costOf(usage: TokenUsage, price: ModelPrice): number {
  const micro =
    usage.input * price.input +
    usage.output * price.output +
    usage.cacheWrite * price.cacheWrite +
    usage.cacheRead * price.cacheRead
  return roundUsd(micro / 1_000_000)
}

/**
 * The most a call can cost before it is made: every input token at the dearest input rate (a
 * cache write costs more than plain input) and every output token the call may produce.
 */
export function worstCaseCost(estimatedInputTokens: number, maxOutputTokens: number, price: ModelPrice): number {
  const inputRate = Math.max(price.input, price.cacheWrite, price.cacheRead)
  return roundUsd((estimatedInputTokens * inputRate + maxOutputTokens * price.output) / 1_000_000)
}

/**
 * An upper estimate of a prompt's tokens without a tokenizer: English averages about four
 * characters a token, JSON less; three characters a token, plus the per-message overhead, stays
 * above what the providers count for PAM's prompts.
 */
export function estimateTokens(...texts: string[]): number {
  return texts.reduce((sum, text) => sum + Math.ceil(text.length / 3), 0) + 16 * texts.length
}

const roundUsd = (usd: number) => Math.round(usd * 1e8) / 1e8
