import { type Config, EnvSchema } from '../config.js'
import type { Logger } from '../logger.js'
import { type ErrorReporter, noErrorReporter } from './error-reporter.js'

/**
 * The deployment's secret values, from the variables its schema marks `secret`: removed from any
 * report wherever they appear. A URL's password is removed on its own too (a driver's message may
 * quote the password without the URL).
 */
export function secretValues(config: Config): string[] {
  const values: string[] = []
  for (const [name, schema] of Object.entries(EnvSchema.properties)) {
    const value: unknown = config[name as keyof Config]
    if (!(schema as { secret?: boolean }).secret || typeof value !== 'string' || value.length === 0) continue
    values.push(value)
    const password = URL.canParse(value) ? decodeURIComponent(new URL(value).password) : ''
    if (password) values.push(password)
  }
  return values
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
