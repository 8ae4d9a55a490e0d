import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { HttpError } from '../errors.js'

const digest = (value: string) => createHash('sha256').update(value).digest()

/** A preHandler for internal endpoints: `Authorization: Bearer <INTERNAL_TOKEN>`, compared in constant time. */
export function requireInternalToken(token: string) {
  const expected = digest(token)
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization ?? ''
    const presented = header.startsWith('Bearer ') ? header.slice(7) : ''
    if (!presented || !timingSafeEqual(digest(presented), expected)) {
      reply.header('WWW-Authenticate', 'Bearer realm="pam-internal"')
      throw new HttpError(401, 'unauthorized', 'this endpoint needs the internal token as a Bearer token')
    }
  }
}
