import type { Config } from '../config.js'
import type { Logger } from '../logger.js'
import { type ErrorReporter, noErrorReporter } from './error-reporter.js'

/** The deployment's secret values: removed from any report wherever they appear. */
export function secretValues(config: Config): string[] {
  const values = [
    config.JWT_SECRET,
    config.INTERNAL_TOKEN,
    config.ANTHROPIC_API_KEY,
    config.GEMINI_API_KEY,
    config.OPS_ALERT_WEBHOOK_URL,
    config.SENTRY_DSN,
  ]
  for (const url of [config.DATABASE_URL, config.REDIS_URL, config.UPSTASH_REDIS_URL]) {
    if (url && URL.canParse(url)) values.push(decodeURIComponent(new URL(url).password), url)
  }
  return values.filter((value): value is string => typeof value === 'string' && value.length > 0)
}

/**
 * Sentry when SENTRY_DSN is set, else nothing: the SDK (and OpenTelemetry under it) is imported
 * only then, so a deployment without it pays no memory or start time for it. Call before
 * Fastify is built (Sentry's Fastify integration hooks into instances created afterwards).
 */
export async function createErrorReporter(config: Config, role: string, logger: Logger): Promise<ErrorReporter> {
  if (!config.SENTRY_DSN) return noErrorReporter
  const { startSentry } = await import('./sentry-reporter.js')
  return startSentry({
    dsn: config.SENTRY_DSN,
    environment: config.SENTRY_ENVIRONMENT ?? config.ENVIRONMENT,
    tracesSampleRate: config.SENTRY_TRACES_SAMPLE_RATE,
    role,
    secrets: secretValues(config),
    logger,
  })
}
