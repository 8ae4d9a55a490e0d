import { APICallError, NoObjectGeneratedError } from 'ai'
import type { TokenUsage } from './prices.js'

/**
 * What a failed model call means for what happens next:
 * - `rate-limited`: the provider said when to come back; the job waits that long (its template
 *   text stands meanwhile) rather than spending a retry or stepping down.
 * - `provider-off`: retrying cannot help (a spent organisation limit, a bad key): the provider is
 *   off until the next UTC day.
 * - `transient`: overloaded, 5xx, timeout, network: retried with backoff, then the next tier.
 * - `invalid-reply`: the model answered something unusable, or the request was refused as
 *   malformed: the next tier at once (the same prompt would fail the same way).
 */
export type FailureKind = 'rate-limited' | 'provider-off' | 'transient' | 'invalid-reply'

export interface Failure {
  kind: FailureKind
  /** Bounded, for the ledger and metrics: e.g. `http_529`, `spend_limit`, `timeout`, `schema`. */
  code: string
  /** For `rate-limited`: how long the provider asked us to wait. */
  retryAfterMs?: number
}

const SPEND_LIMIT = /enforced_spend_limit_reached|spend limit|specified API usage limits/i

/** A wait longer than this is treated as a day-long refusal would be: not worth holding a job for. */
export const MAX_RETRY_AFTER_MS = 60 * 60_000

/** `retry-after` (seconds or an HTTP date) or `retry-after-ms`, in milliseconds; undefined if absent. */
export function retryAfterMs(headers: Record<string, string> | undefined, now: number): number | undefined {
  if (!headers) return undefined
  const lower = Object.fromEntries(Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]))
  const ms = Number(lower['retry-after-ms'])
  if (lower['retry-after-ms'] !== undefined && Number.isFinite(ms) && ms >= 0) return Math.ceil(ms)
  const value = lower['retry-after']
  if (value === undefined || value.trim() === '') return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

export function classifyFailure(error: unknown, now: number): Failure {
  if (NoObjectGeneratedError.isInstance(error)) return { kind: 'invalid-reply', code: 'schema' }
  if (error instanceof ReplyRejected) return { kind: 'invalid-reply', code: 'schema' }
  if (APICallError.isInstance(error)) {
    const status = error.statusCode
    const body = error.responseBody ?? ''
    if (status === 401 || status === 403) return { kind: 'provider-off', code: `http_${status}` }
    // A spent organisation limit: no wait makes the next call succeed today. Anthropic has said
    // so as a 429 (`enforced_spend_limit_reached`, "…exceed your account's monthly spend limit")
    // and as a 400 ("You have reached your specified API usage limits").
    if ((status === 429 || status === 400) && SPEND_LIMIT.test(body))
      return { kind: 'provider-off', code: 'spend_limit' }
    if (status === 429) {
      const wait = retryAfterMs(error.responseHeaders, now)
      if (wait !== undefined && wait <= MAX_RETRY_AFTER_MS) {
        return { kind: 'rate-limited', code: 'http_429', retryAfterMs: wait }
      }
      return { kind: 'transient', code: 'http_429' }
    }
    if (status === undefined) return { kind: 'transient', code: 'network' }
    if (status === 408 || status === 409 || status >= 500) return { kind: 'transient', code: `http_${status}` }
    return { kind: 'invalid-reply', code: `http_${status}` }
  }
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) {
    return { kind: 'transient', code: 'timeout' }
  }
  return { kind: 'transient', code: 'error' }
}

/** A reply that parsed but failed PAM's own checks (length, markdown). */
export class ReplyRejected extends Error {
  constructor(
    readonly problem: string,
    /** What the rejected reply cost: it was billed all the same. */
    readonly usage: TokenUsage,
  ) {
    super(`the reply was rejected: ${problem}`)
    this.name = 'ReplyRejected'
  }
}
