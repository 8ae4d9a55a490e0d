import rateLimit from '@fastify/rate-limit'
import websocket from '@fastify/websocket'
import type { FastifyInstance } from 'fastify'
import type { Caps } from '../../../ai/budget.js'
import type { Evaluate } from '../../../jobs/evaluation-trigger.js'
import type { MaintenanceService } from '../../../monitoring/monitors/maintenance/record-service.js'
import type { Bus, RedisClient } from '../../../platform/backend/backend.js'
import type { HitCounter } from '../../../platform/cache/hit-counter.js'
import type { Db } from '../../../platform/db/database.js'
import type { Reads } from '../../../platform/db/reads.js'
import { timeZoneCatalog } from '../../../travellers/users/time-zone-repository.js'
import type { TokenVerifier } from '../../auth/token-verifier.js'
import { HttpError } from '../../errors.js'
import type { MonitorStateDeps } from '../../monitor-state.js'
import { authenticate } from '../../plugins/authenticate.js'
import { registerIdempotency } from '../../plugins/idempotency.js'
import { throttle } from '../../plugins/throttle.js'
import type { Hub } from '../../stream/hub.js'
import type { CommitWrite } from '../../writes.js'
import { aiUsageRoutes } from './ai-usage.js'
import { alertRoutes } from './alerts.js'
import { type BriefingRouteDeps, briefingRoutes } from './briefings.js'
import { budgetRoutes } from './budgets.js'
import { contextSignalRoutes } from './context-signals.js'
import { deliveryRoutes } from './deliveries.js'
import { expenseRoutes } from './expenses.js'
import { fuelReadingRoutes } from './fuel-readings.js'
import { maintenanceItemRoutes } from './maintenance-items.js'
import { meRoutes } from './me.js'
import { monitorStateRoutes } from './monitor-state.js'
import { monitorRoutes } from './monitors.js'
import { notificationSettingsRoutes } from './notification-settings.js'
import { pushRoutes } from './push.js'
import { MAX_CLIENT_MESSAGE_BYTES, streamRoutes } from './stream.js'
import { tripRoutes } from './trips.js'
import { vehicleRoutes } from './vehicles.js'

/** What the traveller API is built from: each part below is handed the few of these it uses. */
export interface V1Deps {
  db: Db
  commit: CommitWrite
  /** Asks for a monitor's evaluation of a traveller whose thresholds their verdicts moved (a write commit does the rest). */
  evaluate: Evaluate
  reads: Reads
  /** The API process's live sockets, fed from the bus. */
  hub: Hub
  maintenance: MaintenanceService
  verifier: TokenVerifier
  rateLimit: { perMinute: number; redis?: RedisClient; prefix: string }
  /** The deployment's shared counter: requests without a valid token are counted there per address. */
  hits: HitCounter
  aiCaps: Caps
  briefings: Omit<BriefingRouteDeps, 'db'>
  vapidPublicKey: string | undefined
  /** PUSH_ALLOW_PRIVATE_ENDPOINTS: push endpoints may be private addresses (tests only). */
  pushAllowPrivateEndpoints: boolean
  /** Alert changes a traveller makes (read, dismissed) go to the stream like the monitors' do. */
  bus: Bus
  /** Queues the email that asks the owner of a traveller's new address to confirm it. */
  queueConfirmation(userId: string): Promise<void>
  /** The thresholds and channels a monitor's state is explained with (as the worker has them). */
  monitorState: Omit<MonitorStateDeps, 'db'>
}

/**
 * The traveller API. In order, per request: the token is verified (onRequest; without a valid
 * one, the client address is counted and limited), the user's rate limit is counted (preParsing),
 * the body is parsed and validated, the Idempotency-Key is claimed
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
      // Before the body is read: a body that fails to parse (malformed JSON, too deep, too wide)
      // counts like any other request, so junk cannot be sent at full speed either.
      hook: 'preParsing',
      keyGenerator: (request) => request.userId,
      // Shared by every API replica in Redis mode; per process otherwise (docs/operations.md: the two deployment modes).
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
    // its client address is counted instead (same limit), in the deployment's shared store: in
    // Postgres-only mode too, or each replica would let the limit through again.
    const countFailure = throttle(deps.hits, {
      name: 'v1-token',
      max: deps.rateLimit.perMinute,
      windowMs: 60_000,
      refusal: (max, retryAfter) =>
        `${max} requests per minute without a valid token from this address; retry in ${retryAfter} s`,
    })
    app.addHook('onRequest', authenticate({ verifier: deps.verifier, db: deps.db, countFailure }))
    registerIdempotency(app, deps.db)
    const { db, commit, reads } = deps
    await app.register(streamRoutes, { db, hub: deps.hub })
    await app.register(meRoutes, { db, zones: timeZoneCatalog(db) })
    await app.register(monitorRoutes, { db, commit, thresholds: deps.monitorState.thresholds })
    await app.register(aiUsageRoutes, { db, caps: deps.aiCaps })
    await app.register(briefingRoutes, { db, ...deps.briefings })
    await app.register(notificationSettingsRoutes, { db, queueConfirmation: deps.queueConfirmation })
    await app.register(vehicleRoutes, { db, commit, reads })
    await app.register(fuelReadingRoutes, { db, commit, reads })
    await app.register(maintenanceItemRoutes, { db, commit, reads, maintenance: deps.maintenance })
    await app.register(budgetRoutes, { db, commit, reads })
    await app.register(expenseRoutes, { db, commit, reads })
    await app.register(tripRoutes, { db, commit, reads })
    await app.register(contextSignalRoutes, { commit })
    await app.register(alertRoutes, {
      db,
      bus: deps.bus,
      thresholds: deps.monitorState.thresholds,
      evaluate: deps.evaluate,
    })
    await app.register(deliveryRoutes, { db })
    await app.register(monitorStateRoutes, { db, ...deps.monitorState })
    await app.register(pushRoutes, {
      db,
      vapidPublicKey: deps.vapidPublicKey,
      allowPrivateEndpoints: deps.pushAllowPrivateEndpoints,
    })
  }
}
