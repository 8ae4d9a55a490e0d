import type { FastifyInstance } from 'fastify'
import { createTokenVerifier } from '../auth/token-verifier.js'
import { isProduction } from '../config.js'
import type { Deps } from '../deps.js'
import { buildApp } from '../http/app.js'
import { httpSettings } from '../http/http-settings.js'
import { listenOrExplain } from '../http/listen.js'
import { allowedOrigins } from '../http/plugins/cross-origin.js'
import { createProducer, type Producer } from '../jobs/producer.js'
import type { RunningRole } from './role.js'
import { waitForStore } from './wait-for-store.js'

/** The HTTP app with its dependencies taken from the composition root. */
export function buildApiApp(deps: Deps, producer: Producer): Promise<FastifyInstance> {
  return buildApp({
    db: deps.db,
    enqueue: producer.enqueue,
    verifier: createTokenVerifier({
      secret: deps.secrets.jwtSecret,
      jwksUrl: deps.config.JWT_JWKS_URL,
      audience: deps.config.JWT_AUDIENCE,
      issuer: deps.config.JWT_ISSUER,
    }),
    corsOrigin: allowedOrigins(deps.config.CORS_ORIGINS, deps.config.ENVIRONMENT === 'development'),
    rateLimitPerMinute: deps.config.RATE_LIMIT_PER_MINUTE,
    redisPrefix: deps.config.REDIS_PREFIX,
    backend: deps.backend,
    queues: producer.queues,
    metrics: deps.metrics,
    logger: deps.logger,
    internalToken: deps.secrets.internalToken,
    secureCookies: isProduction(deps.config),
    http: httpSettings(deps.config),
    sessions: deps.cache,
  })
}

/**
 * Listens first, then waits for the database in the background: until it answers, /health
 * says alive and /ready says why it is not ready.
 */
export async function startApi(deps: Deps, signal: AbortSignal): Promise<RunningRole> {
  const producer = createProducer(deps.backend, deps.logger)
  const app = await buildApiApp(deps, producer)
  await listenOrExplain(app, deps.config.HOST, deps.config.PORT, 'PORT').catch(async (error) => {
    await producer.close()
    throw error
  })
  waitForStore(deps, signal).catch(() => undefined)
  return {
    async stop() {
      await app.close()
      await producer.close()
    },
  }
}
