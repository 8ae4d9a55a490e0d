import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Db } from '../../platform/db/database.js'
import { ensureUser } from '../../travellers/users/user-repository.js'
import { InvalidTokenError, KeySetUnavailableError, type TokenVerifier } from '../auth/token-verifier.js'
import { HttpError } from '../errors.js'
import { bearerToken } from './internal-auth.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified token's `sub`: every /v1 query is scoped by it. */
    userId: string
    /** When the verified token expires. */
    tokenExpiresAt: Date | undefined
  }
}

// Users seen by this process: their row exists, so the insert is skipped. Bounded; cleared when full.
const KNOWN_USERS_MAX = 50_000

/**
 * Counts a request without a valid token against its client address; throws the 429 once the
 * address is over its limit, so tokens cannot be guessed, nor junk sent, at full speed.
 */
export type CountFailure = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

/**
 * An onRequest hook for /v1: a valid user token or 401 with `WWW-Authenticate: Bearer`. The user
 * row is created on first use. Browsers cannot set headers on a WebSocket, so /v1/stream alone
 * also takes `?access_token=` (redacted from logs); elsewhere a token in a URL is not read.
 */
export function authenticate(deps: { verifier: TokenVerifier; db: Db; countFailure: CountFailure }) {
  const known = new Set<string>()
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const token = bearerToken(request) ?? streamToken(request)
    if (!token) {
      await deps.countFailure(request, reply)
      throw refuse(reply, 'a Bearer token is required (Authorization: Bearer <JWT>)')
    }
    let userId: string
    try {
      ;({ userId, expiresAt: request.tokenExpiresAt } = await deps.verifier.verify(token))
    } catch (error) {
      if (error instanceof InvalidTokenError) {
        await deps.countFailure(request, reply)
        throw refuse(reply, error.message, 'invalid_token')
      }
      if (error instanceof KeySetUnavailableError) throw new HttpError(503, 'unavailable', error.message)
      throw error
    }
    if (!known.has(userId)) {
      await ensureUser(deps.db, userId)
      if (known.size >= KNOWN_USERS_MAX) known.clear()
      known.add(userId)
    }
    request.userId = userId
    // Every line this request logs from here on (its request line too) names its user.
    request.log = request.log.child({ userId })
  }
}

function streamToken(request: FastifyRequest): string | undefined {
  if (request.routeOptions.url !== '/v1/stream') return undefined
  // onRequest: the query is not validated yet.
  const query: unknown = request.query
  const token = query && typeof query === 'object' && 'access_token' in query ? query.access_token : undefined
  return typeof token === 'string' && token.length > 0 ? token : undefined
}

function refuse(reply: FastifyReply, message: string, error?: 'invalid_token') {
  reply.header('WWW-Authenticate', error ? `Bearer realm="pam", error="${error}"` : 'Bearer realm="pam"')
  return new HttpError(401, 'unauthorized', message)
}
