import type { AppDeps } from '../../http/app.js'
import { mintDevToken } from '../../http/auth/dev-token.js'
import { createTokenVerifier, rememberingVerifier } from '../../http/auth/token-verifier.js'
import type { HttpSettings } from '../../http/http-settings.js'
import { allowedOrigins } from '../../http/plugins/cross-origin.js'
import type { Hub } from '../../http/stream/hub.js'
import type { Producer } from '../../jobs/producer.js'
import { schedules } from '../../jobs/schedules.js'
import { monitorThresholds } from '../../monitoring/registry.js'
import { aiCaps, isProduction, publicUrl, pushAllowsPrivateEndpoints, smtpSettings } from '../../platform/config.js'
import { DEMO_USER } from '../commands/next-steps.js'
import type { Deps } from './deps.js'

/**
 * What the HTTP app is built with, from the composition root's dependencies and this process's
 * producer and hub of live sockets: the token verifier, CORS, limits, caps and keys as configured.
 */
export function apiServices(
  deps: Deps,
  producer: Producer,
  hub: Hub,
  http: HttpSettings,
  storeReady: (() => boolean) | undefined,
): AppDeps {
  return {
    hub,
    storeReady,
    db: deps.db,
    reads: deps.reads,
    enqueue: producer.enqueue,
    verifier: rememberingVerifier(
      createTokenVerifier({
        secret: deps.secrets.jwtSecret,
        jwksUrl: deps.config.JWT_JWKS_URL,
        audience: deps.config.JWT_AUDIENCE,
        issuer: deps.config.JWT_ISSUER,
      }),
    ),
    corsOrigin: allowedOrigins(deps.config.CORS_ORIGINS, deps.config.ENVIRONMENT === 'development'),
    rateLimitPerMinute: deps.config.RATE_LIMIT_PER_MINUTE,
    redisPrefix: deps.config.REDIS_PREFIX,
    backend: deps.backend,
    queues: producer.queues,
    metrics: deps.metrics,
    errors: deps.errors,
    logger: deps.logger,
    internalToken: deps.secrets.internalToken,
    secureCookies: isProduction(deps.config),
    aiCaps: aiCaps(deps.config),
    schedules: schedules(deps.config),
    briefingRequestsPerHour: deps.config.BRIEFING_REQUESTS_PER_HOUR,
    http,
    sessions: deps.cache,
    vapidPublicKey: deps.secrets.vapid?.publicKey,
    pushAllowPrivateEndpoints: pushAllowsPrivateEndpoints(deps.config),
    publicUrl: publicUrl(deps.config),
    console: consoleOptions(deps),
    // The channels as worker-services.ts builds them (SMTP settings, VAPID keys), and its thresholds.
    monitorState: {
      thresholds: monitorThresholds(deps.config),
      channels: { email: smtpSettings(deps.config) !== undefined, push: deps.secrets.vapid !== undefined },
      emailCap: deps.config.EMAIL_ALERTS_PER_HOUR,
    },
  }
}

/** The console's one-click sign-in as the README's demo traveller: in development, with a secret PAM holds. */
function consoleOptions(deps: Deps) {
  const { config, secrets } = deps
  const secret = secrets.jwtSecret
  if (config.ENVIRONMENT !== 'development' || !secret || config.JWT_JWKS_URL) return {}
  const demoToken = () =>
    mintDevToken({ secret, userId: DEMO_USER, ttl: '1h', audience: config.JWT_AUDIENCE, issuer: config.JWT_ISSUER })
  return { demoToken }
}
