import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { HttpError } from '../errors.js'

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

/** A preHandler for internal endpoints: `Authorization: Bearer <INTERNAL_TOKEN>`. */
export function requireInternalToken(token: string) {
  const matches = internalTokenMatcher(token)
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!matches(bearerToken(request))) {
      reply.header('WWW-Authenticate', 'Bearer realm="pam-internal"')
      throw new HttpError(401, 'unauthorized', 'this endpoint needs the internal token as a Bearer token')
    }
  }
}
