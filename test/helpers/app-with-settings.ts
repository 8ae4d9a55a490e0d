import type { FastifyInstance } from 'fastify'
import { createTokenVerifier } from '../../src/auth/token-verifier.js'
import { aiCaps } from '../../src/config.js'
import { buildApp } from '../../src/http/app.js'
import { httpSettings } from '../../src/http/http-settings.js'
import type { Producer } from '../../src/jobs/producer.js'
import type { Logger } from '../../src/logger.js'
import type { Harness } from './harness.js'

/**
 * The app as roles/api.ts builds it, plus the HTTP settings of the harness's configuration
 * (TRUST_PROXY, the timeouts, STREAM_MAX_SOCKETS_PER_USER), and optionally a logger to read.
 */
export function buildAppWithSettings(
  harness: Harness,
  producer: Producer,
  options: { logger?: Logger } = {},
): Promise<FastifyInstance> {
  const { deps, config } = harness
  return buildApp({
    db: deps.db,
    enqueue: producer.enqueue,
    verifier: createTokenVerifier({ secret: deps.secrets.jwtSecret, audience: config.JWT_AUDIENCE }),
    corsOrigin: false,
    rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
    redisPrefix: config.REDIS_PREFIX,
    backend: deps.backend,
    queues: producer.queues,
    metrics: deps.metrics,
    logger: options.logger ?? deps.logger,
    internalToken: deps.secrets.internalToken,
    secureCookies: false,
    aiCaps: aiCaps(config),
    briefingRequestsPerHour: config.BRIEFING_REQUESTS_PER_HOUR,
    http: httpSettings(config),
  })
}
