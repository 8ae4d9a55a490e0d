import Type from 'typebox'
import type { PriceTable } from '../model-prices.js'
import { Cadence, Url } from './fields.js'

/** Models, their keys and prices, the money caps, briefings. */
export const AiFields = {
  ANTHROPIC_API_KEY: Type.Optional(
    Type.String({ minLength: 1, secret: true, description: 'Anthropic API key; unset: no analysis model' }),
  ),
  GEMINI_API_KEY: Type.Optional(
    Type.String({ minLength: 1, secret: true, description: 'Google Gemini API key; unset: no fast model' }),
  ),
  ANTHROPIC_BASE_URL: Url(['https', 'http'], 'Anthropic Messages API base (tests point it at a local fake)', {
    default: 'https://api.anthropic.com/v1',
  }),
  GEMINI_BASE_URL: Url(['https', 'http'], 'Gemini API base (tests point it at a local fake)', {
    default: 'https://generativelanguage.googleapis.com/v1beta',
  }),
  AI_ANALYSIS_MODEL: Type.String({
    minLength: 1,
    default: 'claude-sonnet-4-6',
    description: 'Anthropic model for analysis (briefings); must have a price (AI_PRICES)',
  }),
  AI_FAST_MODEL: Type.String({
    minLength: 1,
    default: 'gemini-2.5-flash',
    description: 'Gemini model for frequent tasks (alert text); must have a price (AI_PRICES)',
  }),
  AI_DAILY_BUDGET_USD: Type.Number({
    minimum: 0,
    maximum: 100_000,
    default: 5,
    description: 'what the whole deployment may spend on AI per UTC day (reserved before each call)',
  }),
  AI_USER_DAILY_BUDGET_USD: Type.Number({
    minimum: 0,
    maximum: 1_000,
    default: 0.05,
    description: 'what one user may cost in AI per UTC day (reserved before each call)',
  }),
  AI_PRICES: Type.Optional(
    Type.Codec(
      Type.String({
        description:
          'model prices in USD per million tokens, JSON: {"<model>": {"input", "output", "cacheWrite", "cacheRead"}}; adds to and overrides the built-in table',
      }),
    )
      .Decode((value) => parsePrices(value) as PriceTable)
      .Encode((table) => JSON.stringify(table)),
  ),
  AI_TIMEOUT_MS: Type.Integer({
    minimum: 1000,
    maximum: 300_000,
    default: 30_000,
    description: 'a model call taking longer is abandoned (and retried, then the next tier)',
  }),
  BRIEFING_LOCAL_HOUR: Type.Integer({
    minimum: 0,
    maximum: 23,
    default: 7,
    description: "the hour of a traveller's local morning (profile timezone) their daily briefing is written",
  }),
  BRIEFING_REQUESTS_PER_HOUR: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 3,
    description: 'briefings one traveller may ask for per hour (POST /v1/briefings), besides the AI budgets',
  }),
  SCHEDULE_BRIEFINGS: Cadence('5 * * * *', 'pam-briefings (daily briefings of the travellers whose morning it is)'),
}

/** AI_PRICES as a table, or undefined when it is not one (reported by policyProblems). */
export function parsePrices(value: string): PriceTable | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    return undefined
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined
  const rates = ['input', 'output', 'cacheWrite', 'cacheRead'] as const
  const valid = Object.values(parsed).every(
    (price) =>
      price &&
      typeof price === 'object' &&
      rates.every((rate) => typeof price[rate] === 'number' && Number.isFinite(price[rate]) && price[rate] >= 0),
  )
  return valid ? (parsed as PriceTable) : undefined
}
