import {
  assertSchemaCompatibility,
  type BackendFactory,
  createPostgresBackend,
  DEFAULT_SCHEMA,
  type PostgresConnectionOptions,
  type PostgresQueueBackend,
  runMigrations,
  withBackend,
} from 'bullmq'
import pg from 'pg'
import { reportLostConnections } from '../db/lost-connections.js'
import type { Logger } from '../logger.js'
import type { QueueBackend } from './backend.js'
import { createPgBus } from './pg-bus.js'

/** What BullMQ 6.7 memoizes its readiness in, on a PostgresQueueBackend and on its connection. */
interface ReadinessMemo {
  readyPromise?: Promise<void>
  waitUntilReady(): Promise<void>
}

/**
 * BullMQ's PostgreSQL backend checks its schema once (`waitUntilReady`: a connect and a read of
 * `bullmq.migration`) and keeps the result, failure included: a queue or worker built while the
 * database was down, or before runMigrations created the schema, fails every call for the rest
 * of the process ("schema … is not initialized"). This forgets a failed check, so the next call
 * checks again; a check that succeeded is kept as before.
 */
const recoveringPostgresBackend: BackendFactory<PostgresQueueBackend, PostgresConnectionOptions> = (...args) => {
  const backend = createPostgresBackend(...args)
  for (const target of [backend.connection, backend] as unknown as ReadinessMemo[]) {
    const check = target.waitUntilReady.bind(target)
    target.waitUntilReady = () => {
      const ready = check()
      const memo = target.readyPromise
      ready.catch(() => {
        if (target.readyPromise === memo) target.readyPromise = undefined
      })
      return ready
    }
  }
  return backend
}

const { Queue, Worker } = withBackend(recoveringPostgresBackend)

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
  reportLostConnections(pool, (error) =>
    log.warn({ err: error.message }, 'queue database connection lost; reconnecting'),
  )
  const bus = createPgBus({ url: options.url, pool, prefix: options.prefix, logger: log })

  return {
    kind: 'postgres',
    bus,
    createQueue: (name) => new Queue(name, { connection: pool }),
    createWorker: (name, processor, settings) => new Worker(name, processor, { ...settings, connection: pool }),
    async migrate() {
      await runMigrations(pool)
    },
    async checkQueueStore() {
      await assertSchemaCompatibility(pool)
    },
    async checkSettings() {},
    async close() {
      await bus.close()
      await pool.end()
    },
  }
}
