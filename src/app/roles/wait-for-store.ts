import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import { syncMonitorInputs } from '../../monitoring/monitor-inputs.js'
import { migrateOnStart } from '../../platform/config.js'
import { migrateUp, migrationStatus } from '../../platform/db/migrator.js'
import { sharesServerConnections } from '../../platform/db/pooler.js'
import { messageOf } from '../../platform/errors/error-message.js'
import type { Deps } from '../composition/deps.js'

const MAX_DELAY_MS = 10_000

const POOLER_WITHOUT_SESSION =
  'DATABASE_URL goes through a pooler in transaction mode (two of its sessions shared one server connection): ' +
  "PAM's LISTEN/NOTIFY bus, its Postgres-only queue store and its backups need a session of their own, and named " +
  'prepared statements do not survive such a pooler: set DATABASE_DIRECT_URL to a direct (or session-mode) URL of the same database'

/** A start that waiting cannot mend: the role stops with this message instead of retrying. */
export class StartupRefusal extends Error {}

/**
 * Waits until the database answers and its schema is current (migrating it when
 * MIGRATE_ON_START is on), retrying with backoff: an unreachable database at start means
 * "not ready yet", not a crash loop.
 */
export function waitForStore(deps: Deps, signal: AbortSignal): Promise<void> {
  // `pam start` runs three roles on one Deps: they share one wait and one migration.
  let waiting = waits.get(deps)
  if (!waiting) {
    waiting = waitOnce(deps, signal)
    waits.set(deps, waiting)
  }
  return waiting
}

const waits = new WeakMap<Deps, Promise<void>>()
const schemaCurrent = new WeakSet<Deps>()

/** Whether PAM's migrations are known to be applied (a missing table before that is "starting", not a bug). */
export const isSchemaCurrent = (deps: Deps) => schemaCurrent.has(deps)

async function waitOnce(deps: Deps, signal: AbortSignal): Promise<void> {
  const log = deps.logger.child({ component: 'startup' })
  for (let attempt = 0; ; attempt++) {
    signal.throwIfAborted()
    try {
      await sql`select 1`.execute(deps.db)
      const migrating = migrateOnStart(deps.config)
      const applied = migrating ? await migrateUp(deps.db) : []
      if (!migrating) {
        const pending = (await migrationStatus(deps.db)).filter((m) => !m.executedAt)
        if (pending.length > 0) {
          throw new Error(
            `${pending.length} migration(s) pending and MIGRATE_ON_START is off: run \`npx pam migrate up\` (\`node bin/pam.js migrate up\` in the image)`,
          )
        }
      }
      await syncMonitorInputs(deps.db)
      schemaCurrent.add(deps)
      // PAM's own migrations run in one transaction each, fine through a pooler; BullMQ's schema and
      // everything after need a session.
      if (deps.config.DATABASE_URL && !deps.config.DATABASE_DIRECT_URL && (await sharesServerConnections(deps.db))) {
        throw new StartupRefusal(POOLER_WITHOUT_SESSION)
      }
      if (migrating) await deps.backend.migrate()
      if (applied.length > 0) log.info({ applied }, 'database migrated')
      if (attempt > 0) log.info({ database: deps.databaseLabel }, 'database ready')
      await deps.backend.checkSettings()
      // Redis may be down at start: the scheduler marks it once it has put the schedules in place.
      await deps.backend.markInUse?.().catch((error) => log.debug({ err: messageOf(error) }, 'Redis not marked'))
      return
    } catch (error) {
      if (error instanceof StartupRefusal) throw error
      const delay = Math.min(MAX_DELAY_MS, 500 * 2 ** attempt)
      log.warn(
        { database: deps.databaseLabel, err: messageOf(error), retryInMs: delay },
        'database not ready; retrying',
      )
      await sleep(delay, undefined, { signal })
    }
  }
}
