import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { HitCounter } from '../../platform/cache/hit-counter.js'
import { HttpError } from '../errors.js'
import { throttle } from './throttle.js'

const digest = (value: string) => createHash('sha256').update(value).digest()

/** Constant-time comparison of a presented token with the internal token. */
export function internalTokenMatcher(token: string) {
  const expected = digest(token)
  return (presented: string | undefined) => Boolean(presented) && timingSafeEqual(digest(presented ?? ''), expected)
}

// The scheme is case-insensitive (RFC 7235 §2.1, RFC 6750): "bearer" and "BEARER" are Bearer.
const BEARER = /^bearer +(\S+)\s*$/i

export function bearerToken(request: FastifyRequest): string | undefined {
  return BEARER.exec(request.headers.authorization ?? '')?.[1]
}

// Failed internal-token attempts per address per minute: plenty for a misconfigured scraper,
// far too few to guess a token, and few enough that junk costs little.
export const INTERNAL_FAILURES_PER_MINUTE = 10

export type InternalAuth = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

/** Counts a request without the internal token against its address: one budget for every internal door. */
export const countInternalTokenFailure = (hits: HitCounter) =>
  throttle(hits, {
    name: 'internal-token',
    max: INTERNAL_FAILURES_PER_MINUTE,
    windowMs: 60_000,
    refusal: (max, retryAfter) =>
      `${max} requests per minute without the internal token from this address; retry in ${retryAfter} s`,
  })

/**
 * An onRequest hook for internal endpoints (`Authorization: Bearer <INTERNAL_TOKEN>`): it runs
 * before the query is validated, so without the token nothing about the endpoint is learned (a bad
 * `?day=` is a 401, not a 400). A request without the right token counts against its client
 * address in `hits` (shared by every replica); past the limit it is a 429.
 */
export function requireInternalToken(token: string, hits?: HitCounter): InternalAuth {
  const matches = internalTokenMatcher(token)
  const countFailure = hits ? countInternalTokenFailure(hits) : undefined
  return async (request, reply) => {
    if (matches(bearerToken(request))) return
    await countFailure?.(request, reply)
    reply.header('WWW-Authenticate', 'Bearer realm="pam-internal"')
    throw new HttpError(401, 'unauthorized', 'this endpoint needs the internal token as a Bearer token')
  }
}
