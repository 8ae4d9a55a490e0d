import rateLimit from '@fastify/rate-limit'
import websocket from '@fastify/websocket'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import type { TokenVerifier } from '../../../auth/token-verifier.js'
import type { Bus } from '../../../backend/backend.js'
import type { Db } from '../../../db/database.js'
import type { Logger } from '../../../logger.js'
import { HttpError } from '../../errors.js'
import { authenticate } from '../../plugins/authenticate.js'
import { registerIdempotency } from '../../plugins/idempotency.js'
import type { CommitWrite } from '../../writes.js'
import { alertRoutes } from './alerts.js'
import { budgetRoutes } from './budgets.js'
import { contextSignalRoutes } from './context-signals.js'
import { expenseRoutes } from './expenses.js'
import { fuelReadingRoutes } from './fuel-readings.js'
import { maintenanceItemRoutes } from './maintenance-items.js'
import { meRoutes } from './me.js'
import { MAX_CLIENT_MESSAGE_BYTES, streamRoutes } from './stream.js'
import { tripRoutes } from './trips.js'
import { vehicleRoutes } from './vehicles.js'

export interface V1Deps {
  db: Db
  commit: CommitWrite
  bus: Bus
  logger: Logger
  verifier: TokenVerifier
  rateLimit: { perMinute: number; redis?: Redis; prefix: string }
  maxSocketsPerUser: number
}

/**
 * The traveller API. In order, per request: the token is verified (onRequest; without a valid
 * one, the client address is counted and limited), the user's rate limit is counted (preValidation), the body is validated, the Idempotency-Key is claimed
 * (preHandler), the route runs.
 */
export function v1Routes(deps: V1Deps) {
  return async (app: FastifyInstance) => {
    app.decorateRequest('userId', '')
    app.decorateRequest('tokenExpiresAt', undefined)
    // Before authentication: its own onRequest hook marks upgrade requests, so that a refused
    // upgrade's socket is closed after the 401 instead of left open.
    await app.register(websocket, {
      options: { maxPayload: MAX_CLIENT_MESSAGE_BYTES },
      // A client's fault (an oversized frame: ws closes with 1009 itself) is one line, no stack.
      errorHandler: (error, socket, request) => {
        request.log.info({ err: error.message, code: (error as { code?: string }).code }, 'stream client error')
        socket.terminate()
      },
    })
    await app.register(rateLimit, {
      max: deps.rateLimit.perMinute,
      timeWindow: 60_000,
      hook: 'preValidation',
      keyGenerator: (request) => request.userId,
      // Shared by every API replica in Redis mode; per process otherwise (DESIGN: Postgres-only mode).
      ...(deps.rateLimit.redis
        ? { redis: deps.rateLimit.redis, nameSpace: `${deps.rateLimit.prefix}:rate-limit:` }
        : {}),
      // Redis down: serve the request rather than refuse everyone.
      skipOnError: true,
      errorResponseBuilder: (_request, context) =>
        new HttpError(
          429,
          'rate_limited',
          `rate limit of ${context.max} requests per minute reached; retry in ${context.after}`,
        ),
    })
    // Before authentication: a request without a valid token never reaches the per-user limit, so
    // its client address is counted instead (same limit, same store).
    const failures = app.createRateLimit({ keyGenerator: (request) => `ip:${request.ip}` })
    app.addHook(
      'onRequest',
      authenticate({
        ...deps,
        countFailure: async (request, reply) => {
          const counted = await failures(request)
          if (!counted.isAllowed && counted.isExceeded) {
            reply.header('retry-after', counted.ttlInSeconds)
            throw new HttpError(
              429,
              'rate_limited',
              `${counted.max} requests per minute without a valid token from this address; retry in ${counted.ttlInSeconds} s`,
            )
          }
        },
      }),
    )
    registerIdempotency(app, deps.db)
    await app.register(streamRoutes(deps))
    for (const routes of [
      meRoutes,
      vehicleRoutes,
      fuelReadingRoutes,
      maintenanceItemRoutes,
      budgetRoutes,
      expenseRoutes,
      tripRoutes,
      contextSignalRoutes,
      alertRoutes,
    ]) {
      await app.register(routes(deps))
    }
  }
}
