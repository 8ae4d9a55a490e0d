import { normalizeIP } from '@fastify/rate-limit'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { HitCounter } from '../../cache/hit-counter.js'
import { HttpError } from '../errors.js'

export interface ThrottleRule {
  /** Names the counter: each rule counts apart. */
  name: string
  max: number
  windowMs: number
  /** The 429's message, given the seconds until the client may try again. */
  refusal(max: number, retryAfterSeconds: number): string
}

/**
 * Counts a request against its client address (an IPv6 client by its /64, as @fastify/rate-limit
 * does) in the deployment's shared counter; over the rule's maximum, a 429 with Retry-After. A
 * counter that cannot be reached counts nothing: the request is served rather than everyone
 * refused, as the per-user limit does.
 */
export function throttle(counter: HitCounter, rule: ThrottleRule) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const counted = await counter.hit(`${rule.name}:${normalizeIP(request.ip)}`, rule.windowMs).catch((error) => {
      request.log.warn({ err: (error as Error).message, limit: rule.name }, 'throttle not counted')
      return undefined
    })
    if (!counted || counted.hits <= rule.max) return
    const retryAfter = Math.max(1, Math.ceil(counted.resetInMs / 1000))
    reply.header('retry-after', retryAfter)
    throw new HttpError(429, 'rate_limited', rule.refusal(rule.max, retryAfter))
  }
}
