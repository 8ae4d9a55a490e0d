import { setTimeout as sleep } from 'node:timers/promises'
import type { Cache } from '../platform/cache/cache.js'
import { messageOf } from '../platform/errors/error-message.js'
import { BodyTooLargeError, boundedText, PROVIDER_MAX_BODY_BYTES } from './bounded-body.js'

export interface RetryPolicy {
  timeoutMs: number
  attempts: number
  backoffMs: number
}

/** What a provider client is built from: its base URL, the cache, and (for tests) its retry pace. */
export interface ProviderOptions extends Partial<RetryPolicy> {
  baseUrl: string
  cache: Cache
  /** Called once per lookup that reached the provider: ok, or failed for good (metrics, the operator's failure rate). */
  onOutcome?: (ok: boolean) => void
}

export const retryPolicy = (options: Partial<RetryPolicy>): RetryPolicy => ({
  timeoutMs: options.timeoutMs ?? 8_000,
  attempts: options.attempts ?? 3,
  backoffMs: options.backoffMs ?? 500,
})

// A name the resolver does not know (a mistyped URL: ENOTFOUND) or cannot look up (no network,
// no DNS server: EAI_AGAIN) stays so for the next second: retrying it only holds the alert that
// waits on this lookup.
const UNRESOLVABLE = new Set(['ENOTFOUND', 'EAI_AGAIN'])
const isUnresolvable = (error: unknown) => UNRESOLVABLE.has((error as { cause?: { code?: string } }).cause?.code ?? '')

/**
 * One provider request: JSON back, retried with exponential backoff on 429, 5xx, timeouts and
 * network errors; any other status, a body over PROVIDER_MAX_BODY_BYTES, and a host name that does not resolve,
 * is final. Errors name the target host, never the query.
 * `unavailable` builds the provider's own error type.
 */
export async function fetchJson(
  url: string,
  init: RequestInit,
  policy: RetryPolicy,
  unavailable: (message: string) => Error,
): Promise<unknown> {
  const target = new URL(url).host
  let last = ''
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    try {
      const response = await fetch(url, { ...init, signal: AbortSignal.timeout(policy.timeoutMs) })
      if (response.status === 429 || response.status >= 500) {
        await response.body?.cancel()
        last = `${response.status} from ${target}`
      } else if (!response.ok) {
        await response.body?.cancel()
        throw unavailable(`${target} answered ${response.status}`)
      } else {
        // Read with a cap: a body far larger than any real answer is refused, not held in memory.
        const text = await boundedText(response, PROVIDER_MAX_BODY_BYTES).catch((error) => {
          if (error instanceof BodyTooLargeError) throw unavailable(`${target} sent more than ${error.maxBytes} bytes`)
          throw error
        })
        try {
          return JSON.parse(text)
        } catch {
          throw unavailable(`${target} sent a body that is not JSON`)
        }
      }
    } catch (error) {
      if (error instanceof Error && error.name === unavailable('').name) throw error
      if (isUnresolvable(error)) throw unavailable(`${target} does not resolve (no network, or a wrong URL)`)
      last = `${target}: ${messageOf(error)}`
    }
    if (attempt < policy.attempts) await sleep(policy.backoffMs * 2 ** (attempt - 1))
  }
  throw unavailable(`unavailable after ${policy.attempts} attempts (${last})`)
}
