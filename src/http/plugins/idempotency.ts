import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { stringify as canonicalJson } from 'safe-stable-stringify'
import type { Db } from '../../platform/db/database.js'
import { messageOf } from '../../platform/errors/error-message.js'
import { claimKey, completeKey, releaseKey } from '../../platform/idempotency-repository.js'
import { HttpError } from '../errors.js'
import { prependRouteHook } from '../route-hooks.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set while this request holds an Idempotency-Key claim, until its response is stored. */
    idempotency?: { key: string; claim: string }
  }
}

/**
 * `Idempotency-Key` on POST (IETF httpapi draft, Stripe's practice): the same key and request
 * within 24 h gets the first response again with `Idempotent-Replayed: true` and writes nothing;
 * another body → 422; while the first is still running → 409. Kept in PostgreSQL, so it holds
 * across restarts and replicas. A 5xx frees the key, so the client's retry runs for real; a claim
 * the request could not free (the database away, the process killed) is taken over after 5 s.
 * Added to the POST routes of the instance it is given (the /v1 scope), after authentication and
 * validation.
 */
export function registerIdempotency(app: FastifyInstance, db: Db) {
  const claim = async (request: FastifyRequest, reply: FastifyReply) => {
    const key = request.headers['idempotency-key']
    if (key === undefined) return
    if (typeof key !== 'string' || key.length === 0 || key.length > 255) {
      throw new HttpError(400, 'bad_request', 'invalid headers: Idempotency-Key must be 1 to 255 characters', [
        { field: 'Idempotency-Key', problem: 'must be 1 to 255 characters' },
      ])
    }
    // A canonical form (keys sorted at every level): the same JSON with its keys in another order
    // is the same request, not a reuse of the key.
    const requestHash = createHash('sha256')
      .update(canonicalJson([request.routeOptions.url, request.params, request.body ?? null]))
      .digest('hex')
    const claim = await claimKey(db, {
      userId: request.userId,
      key,
      requestHash,
      method: request.method,
      path: request.url,
    })
    switch (claim.kind) {
      case 'claimed':
        request.idempotency = { key, claim: claim.claim }
        return
      case 'replay':
        return reply.code(claim.statusCode).header('Idempotent-Replayed', 'true').send(claim.body)
      case 'mismatch':
        throw new HttpError(
          422,
          'idempotency_key_reused',
          'this Idempotency-Key was already used with a different request; use a new key',
        )
      case 'in-flight':
        throw new HttpError(409, 'conflict', 'a request with this Idempotency-Key is still in progress; retry shortly')
    }
  }

  const store = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const held = request.idempotency
    if (!held) return payload
    request.idempotency = undefined
    const stored =
      reply.statusCode >= 500
        ? releaseKey(db, request.userId, held)
        : completeKey(db, request.userId, held, {
            statusCode: reply.statusCode,
            body: typeof payload === 'string' && payload.length > 0 ? JSON.parse(payload) : null,
          })
    await stored.catch((error) =>
      request.log.error({ err: messageOf(error) }, 'could not store the idempotent response'),
    )
    return payload
  }

  // Hooks of the POST routes alone, ahead of any of the route's own: a read passes no step of
  // this (an async hook costs a promise and a microtask turn per request).
  app.addHook('onRoute', (route) => {
    if (![route.method].flat().includes('POST')) return
    prependRouteHook(route, 'preHandler', claim)
    prependRouteHook(route, 'onSend', store)
  })
}
