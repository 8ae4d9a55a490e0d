import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { QueueBackend } from '../backend/backend.js'
import type { Db } from '../db/database.js'
import type { Queues } from '../jobs/inspection.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics/metrics.js'
import { registerErrorHandler } from './plugins/error-handler.js'
import { queueDashboard } from './plugins/queue-dashboard.js'
import { healthRoutes } from './routes/health.js'
import { metricsRoutes } from './routes/metrics.js'

export interface AppDeps {
  db: Db
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
    return503OnClosing: true,
    // Unknown fields are rejected (with their name), not silently dropped; every problem is reported.
    ajv: {
      customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array', useDefaults: true },
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
  await app.register(healthRoutes(deps))
  await app.register(metricsRoutes({ ...deps, store: deps }))
  await app.register(queueDashboard(deps))
  return app
}
