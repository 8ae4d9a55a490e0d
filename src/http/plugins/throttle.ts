import { normalizeIP } from '@fastify/rate-limit'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { HitCounter } from '../../platform/cache/hit-counter.js'
import { messageOf } from '../../platform/errors/error-message.js'
import { HttpError } from '../errors.js'

export interface ThrottleRule {
  /** Names the counter: each rule counts apart. */
  name: string
  max: number
  windowMs: number
  /** The 429's message, given the seconds until the client may try again. */
  refusal(max: number, retryAfterSeconds: number): string
}

// Addresses this process saw over a limit, until their window ends: refused without asking the
// store again, so a flood costs the shared store (a PostgreSQL row in Postgres-only mode) a few
// writes per window and replica, not one per request. Bounded; cleared when full.
const MAX_REMEMBERED = 10_000

/**
 * Counts a request against its client address (an IPv6 client by its /64, as @fastify/rate-limit
 * does) in the deployment's shared counter; over the rule's maximum, a 429 with Retry-After. A
 * counter that cannot be reached counts nothing: the request is served rather than everyone
 * refused, as the per-user limit does.
 */
export function throttle(counter: HitCounter, rule: ThrottleRule) {
  const refusedUntil = new Map<string, number>()
  const refuse = (reply: FastifyReply, untilMs: number) => {
    const retryAfter = Math.max(1, Math.ceil((untilMs - Date.now()) / 1000))
    reply.header('retry-after', retryAfter)
    return new HttpError(429, 'rate_limited', rule.refusal(rule.max, retryAfter))
  }
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const key = `${rule.name}:${normalizeIP(request.ip)}`
    const known = refusedUntil.get(key)
    if (known !== undefined && known > Date.now()) throw refuse(reply, known)
    const counted = await counter.hit(key, rule.windowMs).catch((error) => {
      request.log.warn({ err: messageOf(error), limit: rule.name }, 'throttle not counted')
      return undefined
    })
    if (!counted || counted.hits <= rule.max) return
    const until = Date.now() + counted.resetInMs
    if (refusedUntil.size >= MAX_REMEMBERED) refusedUntil.clear()
    refusedUntil.set(key, until)
    throw refuse(reply, until)
  }
}
