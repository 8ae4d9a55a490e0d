import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify'
import type { HitCounter } from '../platform/cache/hit-counter.js'
import type { ErrorReporter } from '../platform/errors/error-reporter.js'
import type { Logger } from '../platform/logger.js'
import type { Metrics } from '../platform/metrics.js'
import { registerErrorHandler } from './plugins/error-handler.js'
import { requireInternalToken } from './plugins/internal-auth.js'
import { registerShutdownResponse } from './plugins/shutdown-response.js'
import { livenessRoutes } from './routes/health.js'
import { metricsRoutes } from './routes/metrics.js'

/**
 * What a worker or scheduler process serves on METRICS_PORT: its own job counters, durations and
 * process figures for Prometheus, and liveness for a container health check.
 */
export async function buildMetricsApp(deps: {
  service: string
  metrics: Metrics
  internalToken: string
  /** Where failed internal-token attempts are counted (the deployment's store); none: not throttled. */
  hits?: HitCounter
  logger: Logger
  errors?: ErrorReporter
}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Scrapes and health probes every few seconds: a line each would drown the job logs. (Fastify 5's
    // top-level disableRequestLogging is deprecated, FSTDEP023.)
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: false,
  })
  registerErrorHandler(app, deps.errors)
  registerShutdownResponse(app)
  await app.register(livenessRoutes(deps.service))
  await app.register(
    metricsRoutes({ metrics: deps.metrics, internalAuth: requireInternalToken(deps.internalToken, deps.hits) }),
  )
  return app
}
