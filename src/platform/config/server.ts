import Type from 'typebox'
import { ENVIRONMENTS, Flag, LOG_LEVELS, NodeList, OriginList, QueueList, Url } from './fields.js'

/** The process, its stores, auth and workers: what every role reads first. */
export const ServerFields = {
  ENVIRONMENT: Type.Enum(ENVIRONMENTS, { default: 'development', description: 'deployment environment' }),
  PORT: Type.Integer({
    minimum: 1,
    maximum: 65535,
    default: 8000,
    description:
      'API listen port; in development, unset and taken (another clone): a free one, said and kept in PAM_HOME',
  }),
  METRICS_PORT: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 65535,
      description:
        'worker and scheduler processes serve their own /metrics (internal token) and /health on this port; the API serves them on PORT',
    }),
  ),
  HOST: Type.String({
    minLength: 1,
    default: '127.0.0.1',
    description: 'API listen address; unset in staging and production: 0.0.0.0 (every interface)',
  }),
  DATABASE_URL: Type.Optional(
    Url(['postgres', 'postgresql'], 'PostgreSQL URL; unset: embedded PostgreSQL under PAM_HOME', {
      secret: true,
    }),
  ),
  DATABASE_DIRECT_URL: Type.Optional(
    Url(
      ['postgres', 'postgresql'],
      'a session (direct) URL of the same database, where DATABASE_URL goes through a pooler in transaction mode (PgBouncer, Supavisor): LISTEN/NOTIFY, the Postgres-only queue store and backups use it; with it set, no named prepared statement is sent through DATABASE_URL',
      { secret: true },
    ),
  ),
  DATABASE_READ_URL: Type.Optional(
    Url(
      ['postgres', 'postgresql'],
      "a read replica of the database for list pages; a traveller's own lists read the primary until the replica has replayed their last write",
      { secret: true },
    ),
  ),
  REDIS_URL: Type.Optional(Url(['redis', 'rediss'], 'Redis URL; unset: Postgres-only mode', { secret: true })),
  UPSTASH_REDIS_URL: Type.Optional(Url(['redis', 'rediss'], 'used when REDIS_URL is unset', { secret: true })),
  REDIS_CLUSTER: Type.Optional(
    Flag(
      'Redis is a Redis Cluster (ElastiCache cluster mode, Memorystore cluster): REDIS_URL names one node to discover the others from (a configuration endpoint), its credentials and TLS used for every node; each queue gets its own hash tag, so the queues spread over the shards',
    ),
  ),
  REDIS_CLUSTER_NODES: Type.Optional(NodeList),
  JWT_SECRET: Type.Optional(
    Type.String({
      minLength: 1,
      secret: true,
      description: 'HS256 secret (Supabase legacy JWT secret); unset outside production: a dev secret in PAM_HOME',
    }),
  ),
  JWT_JWKS_URL: Type.Optional(Url(['https', 'http'], 'JWKS URL for asymmetric tokens (Supabase signing keys)')),
  JWT_AUDIENCE: Type.String({ minLength: 1, default: 'authenticated', description: 'required `aud` claim' }),
  JWT_ISSUER: Type.Optional(Type.String({ minLength: 1, description: 'required `iss` claim, when set' })),
  INTERNAL_TOKEN: Type.Optional(
    Type.String({
      minLength: 1,
      secret: true,
      description: 'bearer token for internal endpoints; unset outside production: a dev token in PAM_HOME',
    }),
  ),
  CORS_ORIGINS: Type.Optional(OriginList),
  RATE_LIMIT_PER_MINUTE: Type.Integer({
    minimum: 1,
    maximum: 1_000_000,
    default: 300,
    description: 'requests per minute to /v1 per user (per IP without a token); shared through Redis in Redis mode',
  }),
  LOG_LEVEL: Type.Enum(LOG_LEVELS, { default: 'info', description: 'pino log level' }),
  WORKER_QUEUES: Type.Optional(QueueList),
  WORKER_CONCURRENCY: Type.Integer({
    minimum: 1,
    maximum: 256,
    default: 4,
    description: 'jobs per queue at once',
  }),
  WORKER_LOCK_DURATION_MS: Type.Integer({
    minimum: 1000,
    maximum: 600_000,
    default: 30_000,
    description:
      "a job's lock and the stall check's interval: a killed worker's job is re-run after about this long; use one value for all workers (BullMQ checks each queue once per interval)",
  }),
}
