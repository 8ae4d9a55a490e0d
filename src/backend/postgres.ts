import { createPostgresBackend, DEFAULT_SCHEMA, runMigrations, withBackend } from 'bullmq'
import pg from 'pg'
import type { Logger } from '../logger.js'
import type { QueueBackend } from './backend.js'
import { createPgBus } from './pg-bus.js'

const { Queue, Worker } = withBackend(createPostgresBackend)

/**
 * Postgres-only mode: BullMQ's PostgreSQL backend (schema `bullmq`) and LISTEN/NOTIFY for the
 * bus. One pool serves every queue and worker; each worker checks out one LISTEN client.
 */
export function createPostgresQueueBackend(options: {
  url: string
  prefix: string
  logger: Logger
  poolSize?: number
}): QueueBackend {
  const log = options.logger.child({ component: 'postgres-queues' })
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 12,
    connectionTimeoutMillis: 5_000,
    application_name: 'pam-queues',
    // BullMQ reads its schema from the search path when handed a ready-made pool.
    options: `-c search_path=${DEFAULT_SCHEMA}`,
  })
  // Every queue and worker BullMQ builds on this pool adds its own error listener: not a leak.
  pool.setMaxListeners(0)
  pool.on('error', (error) => log.warn({ err: error.message }, 'queue database connection lost; reconnecting'))
  const bus = createPgBus({ url: options.url, pool, prefix: options.prefix, logger: log })

  return {
    kind: 'postgres',
    bus,
    createQueue: (name) => new Queue(name, { connection: pool }),
    createWorker: (name, processor, settings) => new Worker(name, processor, { ...settings, connection: pool }),
    async migrate() {
      await runMigrations(pool)
    },
    async checkSettings() {},
    async close() {
      await bus.close()
      await pool.end()
    },
  }
}
