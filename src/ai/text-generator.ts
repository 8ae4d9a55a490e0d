import { generateText, jsonSchema, type LanguageModelUsage, NoObjectGeneratedError, Output } from 'ai'
import type { Db } from '../platform/db/database.js'
import type { Logger } from '../platform/logger.js'
import type { Metrics } from '../platform/metrics.js'
import type { PriceTable } from '../platform/model-prices.js'
import { blockedProviders, blockProvider, type CallOutcome, reserveCall, settleCall } from './ai-call-repository.js'
import type { Breakers } from './breaker.js'
import { type Caps, nextUtcDay, utcDay } from './budget.js'
import { classifyFailure, type Failure, ReplyRejected } from './failures.js'
import type { ConfiguredTier } from './models.js'
import { costOf, estimateTokens, NO_TOKENS, type TokenUsage, worstCaseCost } from './prices.js'
import type { StructuredShape } from './structured-text.js'
import { ladder, type ModelTierName, type Purpose, type Skip } from './tiers.js'

export interface TextRequest<T> {
  purpose: Purpose
  userId: string
  /** The same for every call of a purpose: marked for Anthropic's prompt cache. */
  instructions: string
  /** The part that differs per call: only what the task needs of the user's data. */
  prompt: string
  shape: StructuredShape<T>
  maxOutputTokens: number
  /** PAM's own text: what the caller gets when no model tier can write it. */
  template: () => T
  /** False when the user turned AI text off: the template, without a call. */
  modelsAllowed: boolean
  /**
   * Whether the job has retries left: a transient failure is then thrown (BullMQ retries with
   * backoff); on the last attempt the next tier is tried instead.
   */
  retriesLeft: boolean
  signal?: AbortSignal
}

export interface GeneratedText<T> {
  value: T
  /** 'template' or the model that wrote the value. */
  source: string
  costUsd: number
  /** The tiers passed over, and why (no key, budget, circuit open, failure…). */
  skipped: Skip[]
}

/** The provider asked to be called again later: the job waits that long instead of failing. */
export class RetryLater extends Error {
  constructor(
    readonly delayMs: number,
    provider: string,
  ) {
    super(`${provider} asked to retry in ${delayMs} ms`)
    this.name = 'RetryLater'
  }
}

/** A transient failure with retries left: the job is retried with backoff before stepping down. */
export class TransientModelFailure extends Error {
  constructor(provider: string, code: string) {
    super(`${provider} failed (${code}); retrying before the next tier`)
    this.name = 'TransientModelFailure'
  }
}

export interface TextGeneratorOptions {
  db: Db
  logger: Logger
  metrics: Metrics
  tiers: Partial<Record<ModelTierName, ConfiguredTier>>
  prices: PriceTable
  caps: Caps
  breakers: Breakers
  timeoutMs: number
  now?: () => Date
}

export type TextGenerator = <T>(request: TextRequest<T>) => Promise<GeneratedText<T>>

const OUTCOME_OF: Record<Failure['kind'], Exclude<CallOutcome, 'reserved' | `refused_${string}`>> = {
  'rate-limited': 'rate_limited',
  'provider-off': 'provider_off',
  transient: 'transient',
  'invalid-reply': 'invalid_reply',
}

/** The AI SDK's usage as the price table bills it: cache writes and reads apart from plain input. */
export function tokenUsage(usage: LanguageModelUsage | undefined): TokenUsage {
  if (!usage) return NO_TOKENS
  const cacheRead = usage.inputTokenDetails?.cacheReadTokens ?? 0
  const cacheWrite = usage.inputTokenDetails?.cacheWriteTokens ?? 0
  const input = usage.inputTokenDetails?.noCacheTokens ?? Math.max(0, (usage.inputTokens ?? 0) - cacheRead - cacheWrite)
  return { input, output: usage.outputTokens ?? 0, cacheWrite, cacheRead }
}

/**
 * One text generator for every purpose: tries the purpose's model tiers in order — each reserved
 * against the budgets first and settled from its reported usage after — and falls back to the
 * template, so a caller always gets a valid result of the same shape.
 */
export function createTextGenerator(options: TextGeneratorOptions): TextGenerator {
  const { db, metrics, breakers, prices } = options
  const now = options.now ?? (() => new Date())
  const logger = options.logger.child({ component: 'ai' })

  return async function generate<T>(request: TextRequest<T>): Promise<GeneratedText<T>> {
    const day = utcDay(now())
    const template = (skipped: Skip[]): GeneratedText<T> => ({
      value: request.template(),
      source: 'template',
      costUsd: 0,
      skipped,
    })
    if (!request.modelsAllowed) return template([])
    const blocked = await blockedProviders(db, day)
    const { tiers: order, skipped } = ladder(request.purpose, options.tiers, (tier) =>
      blocked.has(tier.provider)
        ? 'provider_off'
        : breakers.allow(tier.provider, now().getTime())
          ? undefined
          : 'circuit_open',
    )
    const estimatedInput = estimateTokens(request.instructions, request.prompt, JSON.stringify(request.shape.wire))
    for (const candidate of order) {
      const tier = options.tiers[candidate.tier] as ConfiguredTier
      const label = { provider: tier.provider, model: tier.model }
      const price = prices[tier.model]
      if (!price) throw new Error(`no price for ${tier.model}: config refuses this at start`)
      const reserved = await reserveCall(db, {
        userId: request.userId,
        purpose: request.purpose,
        ...label,
        day,
        amountUsd: worstCaseCost(estimatedInput, request.maxOutputTokens, price),
        caps: options.caps,
      })
      if ('refused' in reserved) {
        breakers.release(tier.provider)
        metrics.aiCalls.inc({ ...label, outcome: `refused_${reserved.refused}` })
        skipped.push({ tier: candidate.tier, reason: reserved.refused })
        continue
      }
      const started = performance.now()
      const settle = async (
        outcome: Exclude<CallOutcome, 'reserved' | `refused_${string}`>,
        usage: TokenUsage,
        errorCode?: string,
      ) => {
        const costUsd = costOf(usage, price)
        await settleCall(db, reserved.callId, {
          outcome,
          errorCode,
          usage,
          costUsd,
          latencyMs: performance.now() - started,
        })
        metrics.aiCalls.inc({ ...label, outcome })
        if (costUsd > 0) metrics.aiCost.inc(label, costUsd)
        return costUsd
      }
      try {
        const result = await generateText({
          model: tier.languageModel,
          instructions: {
            role: 'system',
            content: request.instructions,
            providerOptions: { anthropic: { cacheControl: { type: 'ephemeral' } } },
          },
          prompt: request.prompt,
          output: Output.object({ schema: jsonSchema<unknown>(request.shape.wire) }),
          maxOutputTokens: request.maxOutputTokens,
          // Gemini 2.5 Flash thinks by default and its thinking tokens count against maxOutputTokens:
          // a short structured reply would come back cut off. These tasks need no thinking.
          providerOptions: { google: { thinkingConfig: { thinkingBudget: 0 } } },
          // BullMQ owns retries: a retry inside the SDK would hide failures from the breaker and budgets.
          maxRetries: 0,
          abortSignal: AbortSignal.any([
            AbortSignal.timeout(options.timeoutMs),
            ...(request.signal ? [request.signal] : []),
          ]),
        })
        const usage = tokenUsage(result.usage)
        const checked = request.shape.check(result.output)
        if (!checked.ok) throw new ReplyRejected(checked.problem, usage)
        const costUsd = await settle('ok', usage)
        breakers.succeeded(tier.provider)
        logger.debug(
          { purpose: request.purpose, ...label, prompt: request.prompt, reply: result.output },
          'model reply',
        )
        return { value: checked.value, source: tier.model, costUsd, skipped }
      } catch (error) {
        const failure = classifyFailure(error, now().getTime())
        const usage = NoObjectGeneratedError.isInstance(error)
          ? tokenUsage(error.usage)
          : error instanceof ReplyRejected
            ? error.usage
            : NO_TOKENS
        await settle(OUTCOME_OF[failure.kind], usage, failure.code)
        logger.warn(
          { purpose: request.purpose, ...label, failure: failure.kind, code: failure.code },
          'model call failed',
        )
        if (failure.kind === 'invalid-reply') {
          // The provider is up and answering: its circuit is not the problem.
          breakers.succeeded(tier.provider)
          skipped.push({ tier: candidate.tier, reason: 'failed' })
          continue
        }
        if (failure.kind !== 'transient') breakers.release(tier.provider)
        if (failure.kind === 'provider-off') {
          if (await blockProvider(db, tier.provider, day, failure.code)) {
            logger.error(
              { provider: tier.provider, reason: failure.code, until: nextUtcDay(now()).toISOString() },
              'AI provider refused for the rest of the day (spend limit or key): its tier is off until then',
            )
          }
          skipped.push({ tier: candidate.tier, reason: 'provider_off' })
          continue
        }
        if (failure.kind === 'rate-limited') throw new RetryLater(failure.retryAfterMs ?? 0, tier.provider)
        breakers.failed(tier.provider, now().getTime())
        if (request.retriesLeft) throw new TransientModelFailure(tier.provider, failure.code)
        skipped.push({ tier: candidate.tier, reason: 'failed' })
      }
    }
    return template(skipped)
  }
}
