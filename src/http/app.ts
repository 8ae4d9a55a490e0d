import { randomUUID } from 'node:crypto'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type HookHandlerDoneFunction,
  LogController,
} from 'fastify'
import type { Caps } from '../ai/budget.js'
import { confirmationLinks, unsubscribeLinks } from '../delivery/unsubscribe-link.js'
import { briefingJobId } from '../jobs/ai-job-ids.js'
import { evaluationTrigger } from '../jobs/evaluation-trigger.js'
import type { Queues } from '../jobs/inspection.js'
import type { Producer } from '../jobs/producer.js'
import type { Schedule } from '../jobs/schedules.js'
import { maintenanceService } from '../monitoring/monitors/maintenance/record-service.js'
import type { QueueBackend } from '../platform/backend/backend.js'
import type { Cache } from '../platform/cache/cache.js'
import { sharedHitCounter } from '../platform/cache/hit-counter.js'
import type { Db } from '../platform/db/database.js'
import { primaryReads, type Reads } from '../platform/db/reads.js'
import type { ErrorReporter } from '../platform/errors/error-reporter.js'
import { type Logger, redactUrl } from '../platform/logger.js'
import { countAlertChanges, type Metrics } from '../platform/metrics.js'
import type { TokenVerifier } from './auth/token-verifier.js'
import { capConnectionsPerAddress, clientErrorHandler } from './client-errors.js'
import { DEFAULT_HTTP_SETTINGS, type HttpSettings } from './http-settings.js'
import { registerJsonBodies } from './json-body.js'
import { type ConsoleOptions, consolePages } from './plugins/console.js'
import { type allowedOrigins, registerCrossOrigin } from './plugins/cross-origin.js'
import { registerErrorHandler } from './plugins/error-handler.js'
import { requireInternalToken } from './plugins/internal-auth.js'
import { registerDocsPages, registerOpenApi } from './plugins/openapi.js'
import { queueDashboard } from './plugins/queue-dashboard.js'
import { API_HEADERS, pageHeaders, sendSecurityHeaders } from './plugins/security-headers.js'
import { registerShutdownResponse } from './plugins/shutdown-response.js'
import { deferredRequestLogger } from './request-logger.js'
import { prependRouteHook } from './route-hooks.js'
import { healthRoutes } from './routes/health.js'
import { internalAiUsageRoutes } from './routes/internal/ai-usage.js'
import { internalDeliveryRoutes } from './routes/internal/delivery-attempts.js'
import { queueBacklogRoutes } from './routes/internal/queue-backlog.js'
import { scheduleRoutes } from './routes/internal/schedules.js'
import { metricsRoutes } from './routes/metrics.js'
import { serviceIndexRoutes } from './routes/service-index.js'
import { unsubscribeRoutes } from './routes/unsubscribe.js'
import { type V1Deps, v1Routes } from './routes/v1/index.js'
import type { Hub } from './stream/hub.js'
import { validatorCompiler } from './validation.js'
import { writeCommitter } from './writes.js'

export interface AppDeps {
  db: Db
  /** Where list pages read; default: the primary (`db`). */
  reads?: Reads
  /** This process's live sockets (the API role builds, feeds and closes it). */
  hub: Hub
  /** Queues a job (a monitor's evaluation after a write). */
  enqueue: Producer['enqueue']
  verifier: TokenVerifier
  /** CORS: see allowedOrigins. */
  corsOrigin: ReturnType<typeof allowedOrigins>
  rateLimitPerMinute: number
  redisPrefix: string
  backend: QueueBackend
  queues: Queues
  metrics: Metrics
  /** Where 500s are reported; default: nowhere. */
  errors?: ErrorReporter
  logger: Logger
  internalToken: string
  /** Cookies only over HTTPS (production deployments sit behind TLS). */
  secureCookies: boolean
  /** From TRUST_PROXY, the timeouts and STREAM_MAX_SOCKETS_PER_USER (`httpSettings(config)`); default: their defaults. */
  http?: HttpSettings
  /**
   * False until PAM's migrations are known applied (the API listens before that): a request that
   * meets a missing table meanwhile is answered 503, not 500.
   */
  storeReady?: () => boolean
  /** The AI spending caps, shown by the usage endpoints. */
  aiCaps: Caps
  /** The schedules the deployment runs, as configured: /metrics exports their cadences. */
  schedules: readonly Schedule[]
  /** BRIEFING_REQUESTS_PER_HOUR: briefings one traveller may ask for per hour. */
  briefingRequestsPerHour: number
  /** Where queue-dashboard sessions are kept (the deployment's cache, shared by replicas); default: this process. */
  sessions?: Cache
  /** Web Push's public key (GET /v1/push/vapid-public-key); undefined: push is off. */
  vapidPublicKey?: string
  /** PUSH_ALLOW_PRIVATE_ENDPOINTS: subscriptions may point at private addresses (tests only). */
  pushAllowPrivateEndpoints?: boolean
  /** Where the one-click unsubscribe links in emails point (PUBLIC_URL). */
  publicUrl?: string
  /** The web console's options (its demo sign-in in development). */
  console?: ConsoleOptions
  /** The deployment's monitor thresholds, channels and email cap: GET /v1/monitors/:kind/state explains with them. */
  monitorState: V1Deps['monitorState']
}

const INFO_WRITTEN_AT = new Set(['trace', 'debug', 'info'])

/** The one line a request leaves in the log. */
function logRequest(request: FastifyRequest, status: number, elapsedMs: number) {
  // The line's message is built (the URL redacted) only where it is written.
  if (!INFO_WRITTEN_AT.has(request.log.level)) return
  const ms = Math.round(elapsedMs)
  request.log.info(
    { req: request, statusCode: status, responseTimeMs: ms },
    `${request.method} ${redactUrl(request.url)} ${status} ${ms} ms`,
  )
}

/** Builds the HTTP app from its dependencies; listening is the caller's business (app/roles/api.ts). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const http = deps.http ?? DEFAULT_HTTP_SETTINGS
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Fastify logs two entries per request (each a block of lines when pretty): one line is
    // written below, once the response is sent.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: deferredRequestLogger,
    genReqId: (request) => {
      const given = request.headers['x-request-id']
      return typeof given === 'string' && /^[\w.-]{1,100}$/.test(given) ? given : randomUUID()
    },
    bodyLimit: 1024 * 1024,
    // registerShutdownResponse answers requests that arrive while closing, in the contract's shape.
    return503OnClosing: false,
    clientErrorHandler,
    // The client is the address `hops` proxies back in X-Forwarded-For (0: the connecting one).
    trustProxy: (_address: string, hop: number) => hop < http.trustProxyHops,
    requestTimeout: http.requestTimeoutMs,
    connectionTimeout: http.connectionTimeoutMs,
    // Given to Node's server itself: set only afterwards (as Fastify does), Node 20 keeps its own
    // 60 s header deadline for a request whose body trickles in. Node checks these deadlines only
    // every connectionsCheckingInterval (30 s by default), so a slow client would get twice its time.
    http: {
      requestTimeout: http.requestTimeoutMs,
      headersTimeout: http.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(5_000, Math.ceil(http.requestTimeoutMs / 4)),
    },
  })
  if (http.connectionsPerAddress > 0) capConnectionsPerAddress(app.server, http.connectionsPerAddress)
  // Unknown fields are rejected (with their name), not silently dropped; bodies are never coerced.
  app.setValidatorCompiler(validatorCompiler())
  registerJsonBodies(app)
  // WebSocket requests whose line was written when they opened.
  const upgraded = new WeakSet<FastifyRequest>()
  // Callback hooks, not async ones: these run on every request, and an async hook costs a promise
  // and a microtask turn each for steps that never wait. The id is set as the request arrives
  // (every answer keeps the headers set before it, errors included): an onSend hook for it would
  // be the only one most responses pass through.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })
  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, never the raw URL: ids in paths would make unbounded label values.
    const route = request.routeOptions.url ?? 'unmatched'
    deps.metrics.httpDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    )
    if (!upgraded.has(request)) logRequest(request, reply.statusCode, reply.elapsedTime)
    done()
  })
  // A WebSocket's response ends only when the socket closes: its line is written when it opens,
  // past authentication (a refused upgrade is logged as above). A hook of the WebSocket routes
  // alone, so no other request passes a preHandler step for it.
  const logUpgrade = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    if (request.ws) {
      upgraded.add(request)
      logRequest(request, 101, reply.elapsedTime)
    }
    done()
  }
  app.addHook('onRoute', (route) => {
    if (route.websocket || route.wsHandler) prependRouteHook(route, 'preHandler', logUpgrade)
  })
  registerErrorHandler(app, deps.errors, deps.storeReady)
  registerShutdownResponse(app)
  // Throttles that must hold across replicas: failed tokens, dashboard sign-in and sign-out.
  const hits = sharedHitCounter({ db: deps.db, redis: deps.backend.redis, prefix: deps.redisPrefix })
  const internalAuth = requireInternalToken(deps.internalToken, hits)
  const reads = deps.reads ?? primaryReads(deps.db)
  const pageSecurity = await pageHeaders()
  // The public API: documented, CORS and security headers. Metrics and the dashboard sit beside it.
  await app.register(async (api) => {
    await registerOpenApi(api)
    await registerCrossOrigin(api, deps.corsOrigin)
    // Its HTML pages (the docs, the links in emails) with helmet's full set of headers.
    await api.register(async (pages) => {
      sendSecurityHeaders(pages, pageSecurity)
      await registerDocsPages(pages)
      const linksBase = deps.publicUrl ?? 'http://localhost:8000'
      await pages.register(unsubscribeRoutes, {
        db: deps.db,
        links: unsubscribeLinks(deps.internalToken, linksBase),
        confirmations: confirmationLinks(deps.internalToken, linksBase),
      })
    })
    await api.register(async (json) => {
      sendSecurityHeaders(json, API_HEADERS)
      await json.register(serviceIndexRoutes)
      await json.register(healthRoutes({ ...deps, internalAuth }))
      await json.register(scheduleRoutes({ ...deps, internalAuth }))
      await json.register(queueBacklogRoutes({ ...deps, internalAuth }))
      await json.register(internalAiUsageRoutes({ ...deps, internalAuth, caps: deps.aiCaps }))
      await json.register(internalDeliveryRoutes, { db: deps.db, internalAuth })
      const evaluate = evaluationTrigger(deps.backend, deps.enqueue, deps.logger)
      await json.register(
        v1Routes({
          db: deps.db,
          commit: writeCommitter(deps.db, evaluate, reads),
          evaluate,
          reads,
          hub: deps.hub,
          maintenance: maintenanceService({
            bus: deps.backend.bus,
            logger: deps.logger,
            observe: countAlertChanges(deps.metrics),
          }),
          verifier: deps.verifier,
          rateLimit: { perMinute: deps.rateLimitPerMinute, redis: deps.backend.redis, prefix: deps.redisPrefix },
          hits,
          vapidPublicKey: deps.vapidPublicKey,
          pushAllowPrivateEndpoints: deps.pushAllowPrivateEndpoints ?? false,
          bus: deps.backend.bus,
          async queueConfirmation(userId) {
            await deps.enqueue('notify.confirm-email', { userId })
          },
          aiCaps: deps.aiCaps,
          monitorState: deps.monitorState,
          briefings: {
            requestsPerHour: deps.briefingRequestsPerHour,
            async queueBriefing(briefingId, userId) {
              await deps.enqueue('ai.briefing', { briefingId, userId }, { jobId: briefingJobId(briefingId) })
            },
          },
        }),
      )
    })
  })
  await app.register(metricsRoutes({ metrics: deps.metrics, internalAuth, store: deps }))
  await app.register(queueDashboard({ ...deps, hits }))
  await app.register(consolePages(deps.console ?? {}))
  return app
}
