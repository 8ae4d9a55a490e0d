import type { VapidKeys } from '../../delivery/channels/push-channel.js'
import type { QueueBackend } from '../../platform/backend/backend.js'
import { createPostgresQueueBackend } from '../../platform/backend/postgres.js'
import { createRedisBackend } from '../../platform/backend/redis.js'
import { type Cache, redisCache, tableCache } from '../../platform/cache/cache.js'
import { type Config, isProduction, redisUrl } from '../../platform/config.js'
import { createDatabase, type Db } from '../../platform/db/database.js'
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../../platform/db/embedded.js'
import { primaryReads, type Reads, replicaReads } from '../../platform/db/reads.js'
import { messageOf } from '../../platform/errors/error-message.js'
import { type ErrorReporter, noErrorReporter } from '../../platform/errors/error-reporter.js'
import { createFootprint, type Footprint, keepEverything } from '../../platform/footprint.js'
import type { Logger } from '../../platform/logger.js'
import { createMetrics, type Metrics } from '../../platform/metrics.js'
import { createOverpassClient } from '../../providers/places/overpass-client.js'
import type { PlacesProvider } from '../../providers/places/places-provider.js'
import { createProviderOutcomes } from '../../providers/provider-outcomes.js'
import { createOpenMeteoClient } from '../../providers/weather/open-meteo-client.js'
import type { WeatherProvider } from '../../providers/weather/weather-provider.js'
import { type DevSecrets, loadDevSecrets, loadDevVapidKeys } from '../local/dev-secrets.js'

export interface Secrets {
  /** Undefined when tokens are verified with a JWKS URL instead. */
  jwtSecret: string | undefined
  internalToken: string
  /** Undefined in production without VAPID_* variables: the push channel is off. */
  vapid: VapidKeys | undefined
}

/** Everything a role needs, built once by the composition root and passed down explicitly. */
export interface Deps {
  config: Config
  logger: Logger
  db: Db
  /** Where list pages read: DATABASE_READ_URL's replica (read-your-writes), else `db`. */
  reads: Reads
  backend: QueueBackend
  metrics: Metrics
  /** Error tracking (Sentry when SENTRY_DSN is set, else nothing). */
  errors: ErrorReporter
  /** Provider answers: Redis keys in Redis mode, a table in Postgres-only mode. */
  cache: Cache
  places: PlacesProvider
  weather: WeatherProvider
  secrets: Secrets
  /** Where the database lives, for messages: never the URL itself (it may hold a password). */
  databaseLabel: string
  /** A session URL for tools that connect on their own (backups). Holds the password: never log or print it. */
  databaseUrl: string
  close(): Promise<void>
  /** After close(), for a start that failed: removes what building these created under PAM_HOME. */
  removeCreated(): Promise<void>
}

/** The secrets in use: from the environment, else (outside production) generated once under PAM_HOME. */
export async function resolveSecrets(
  config: Config,
  footprint: Footprint = keepEverything,
): Promise<{ secrets: Secrets; dev?: DevSecrets }> {
  const needsDevSecrets = !config.DATABASE_URL || !config.INTERNAL_TOKEN || (!config.JWT_SECRET && !config.JWT_JWKS_URL)
  // Production never reaches the dev secrets: config refuses it without all three.
  const dev = needsDevSecrets ? await loadDevSecrets(config.PAM_HOME, footprint) : undefined
  const secrets: Secrets = {
    jwtSecret: config.JWT_SECRET ?? (config.JWT_JWKS_URL ? undefined : dev?.jwtSecret),
    internalToken: config.INTERNAL_TOKEN ?? dev?.internalToken ?? '',
    vapid:
      config.VAPID_PUBLIC_KEY && config.VAPID_PRIVATE_KEY
        ? { publicKey: config.VAPID_PUBLIC_KEY, privateKey: config.VAPID_PRIVATE_KEY }
        : isProduction(config)
          ? undefined
          : await loadDevVapidKeys(config.PAM_HOME, footprint),
  }
  return { secrets, dev }
}

export async function buildDeps(
  config: Config,
  logger: Logger,
  errors: ErrorReporter = noErrorReporter,
): Promise<Deps> {
  // A start that fails removes what it created (secrets, a new database), and only that.
  const footprint = createFootprint()
  let secrets: Secrets
  let embedded: EmbeddedDatabase | undefined
  try {
    const resolved = await resolveSecrets(config, footprint)
    secrets = resolved.secrets
    if (!config.DATABASE_URL) {
      embedded = await startEmbeddedPostgres({
        home: config.PAM_HOME,
        port: config.EMBEDDED_DATABASE_PORT,
        password: resolved.dev?.databasePassword ?? '',
        logger,
        footprint,
      })
    }
  } catch (error) {
    await footprint.undo()
    throw error
  }
  const databaseUrl = config.DATABASE_URL ?? embedded?.url ?? ''
  // What needs a session of its own (LISTEN, the queue store's settings, a backup's COPY) uses the
  // direct URL; everything else may go through the pooler.
  const sessionUrl = config.DATABASE_DIRECT_URL ?? databaseUrl
  const database = createDatabase(databaseUrl, logger, { pooled: config.DATABASE_DIRECT_URL !== undefined })
  const redis = redisUrl(config)
  const backend = redis
    ? createRedisBackend({
        url: redis,
        prefix: config.REDIS_PREFIX,
        cluster: config.REDIS_CLUSTER ? { nodes: config.REDIS_CLUSTER_NODES ?? [] } : undefined,
        logger,
      })
    : createPostgresQueueBackend({ url: sessionUrl, prefix: 'pam', logger })

  const metrics = createMetrics({ pool: database.pool, redis: backend.redis })
  const outcomes = createProviderOutcomes(database.db, logger)
  const providerOutcome = (provider: string, ok: boolean) => {
    if (!ok) metrics.providerFailures.inc({ provider })
    outcomes.record(provider, ok)
  }
  const cache = backend.redis ? redisCache(backend.redis, config.REDIS_PREFIX) : tableCache(database.db)
  const replica = config.DATABASE_READ_URL
    ? createDatabase(config.DATABASE_READ_URL, logger, { name: 'pam-read' })
    : undefined
  return {
    config,
    logger,
    db: database.db,
    reads: replica
      ? replicaReads({ primary: database.db, replica: replica.db, cache, logger })
      : primaryReads(database.db),
    backend,
    metrics,
    errors,
    cache,
    places: createOverpassClient({
      baseUrl: config.PLACES_API_URL,
      cache,
      onOutcome: (ok) => providerOutcome('places', ok),
    }),
    weather: createOpenMeteoClient({
      baseUrl: config.WEATHER_API_URL,
      cache,
      onOutcome: (ok) => providerOutcome('weather', ok),
    }),
    secrets,
    databaseUrl: sessionUrl,
    databaseLabel: embedded ? `embedded PostgreSQL on port ${config.EMBEDDED_DATABASE_PORT}` : 'DATABASE_URL',
    async close() {
      await outcomes.close()
      await backend.close().catch((error) => logger.warn({ err: messageOf(error) }, 'closing the queue backend'))
      for (const pool of [replica, database]) {
        await pool?.close().catch((error) => logger.warn({ err: messageOf(error) }, 'closing a database pool'))
      }
      await embedded?.stop()
    },
    removeCreated: () => footprint.undo(),
  }
}
