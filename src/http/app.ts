import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { TokenVerifier } from '../auth/token-verifier.js'
import type { QueueBackend } from '../backend/backend.js'
import type { Db } from '../db/database.js'
import type { Queues } from '../jobs/inspection.js'
import type { Producer } from '../jobs/producer.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics/metrics.js'
import { evaluationTrigger } from './evaluations.js'
import { type allowedOrigins, registerCrossOrigin } from './plugins/cross-origin.js'
import { registerErrorHandler } from './plugins/error-handler.js'
import { registerOpenApi } from './plugins/openapi.js'
import { queueDashboard } from './plugins/queue-dashboard.js'
import { registerShutdownResponse } from './plugins/shutdown-response.js'
import { healthRoutes } from './routes/health.js'
import { metricsRoutes } from './routes/metrics.js'
import { scheduleRoutes } from './routes/schedules.js'
import { v1Routes } from './routes/v1/index.js'

export interface AppDeps {
  db: Db
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
  logger: Logger
  internalToken: string
  /** Cookies only over HTTPS (production deployments sit behind TLS). */
  secureCookies: boolean
}

/** Builds the HTTP app from its dependencies; listening is the caller's business (roles/api.ts). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: (request) => {
      const given = request.headers['x-request-id']
      return typeof given === 'string' && /^[\w.-]{1,100}$/.test(given) ? given : randomUUID()
    },
    bodyLimit: 1024 * 1024,
    // registerShutdownResponse answers requests that arrive while closing, in the contract's shape.
    return503OnClosing: false,
    // Unknown fields are rejected (with their name), not silently dropped; every problem is reported.
    ajv: {
      customOptions: {
        removeAdditional: false,
        allErrors: true,
        coerceTypes: 'array',
        useDefaults: true,
        // multipleOf 0.01 by division is wrong for floats (19.99 / 0.01 = 1998.9999…).
        multipleOfPrecision: 9,
      },
    },
  })
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the raw URL: ids in paths would make unbounded label values.
    const route = request.routeOptions.url ?? 'unmatched'
    deps.metrics.httpDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    )
  })
  registerErrorHandler(app)
  registerShutdownResponse(app)
  // The public API: documented, CORS and security headers. Metrics and the dashboard sit beside it.
  await app.register(async (api) => {
    await registerOpenApi(api)
    await registerCrossOrigin(api, deps.corsOrigin)
    await api.register(healthRoutes(deps))
    await api.register(scheduleRoutes(deps))
    await api.register(
      v1Routes({
        db: deps.db,
        bus: deps.backend.bus,
        logger: deps.logger,
        evaluate: evaluationTrigger(deps.enqueue, deps.logger),
        verifier: deps.verifier,
        rateLimit: { perMinute: deps.rateLimitPerMinute, redis: deps.backend.redis, prefix: deps.redisPrefix },
      }),
    )
  })
  await app.register(metricsRoutes({ ...deps, store: deps }))
  await app.register(queueDashboard(deps))
  return app
}
