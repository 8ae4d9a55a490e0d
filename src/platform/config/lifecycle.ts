import Type from 'typebox'
import { Flag } from './fields.js'

/** Starting and stopping: migrations, shutdown, local state, the embedded database. */
export const LifecycleFields = {
  MIGRATE_ON_START: Type.Optional(Flag('run migrations when a role starts; default: on outside production')),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({
    minimum: 1000,
    maximum: 600_000,
    default: 25_000,
    description: 'how long SIGTERM waits for in-flight requests and jobs',
  }),
  PAM_HOME: Type.String({
    minLength: 1,
    default: '.pam',
    description: 'local state: embedded database, dev secrets',
  }),
  REDIS_PREFIX: Type.String({
    pattern: '^[\\w{}:.-]{1,40}$',
    problem: 'must be 1-40 letters, digits or _ { } : . -',
    default: 'pam',
    description:
      'key prefix for queues, the bus and the cache in Redis (without { }: on a Redis Cluster PAM adds the hash tags)',
  }),
  EMBEDDED_DATABASE_PORT: Type.Integer({
    minimum: 1,
    maximum: 65535,
    default: 54329,
    description:
      'port of the embedded PostgreSQL; in development, unset and taken (another clone): a free one, said and kept in PAM_HOME',
  }),
}
