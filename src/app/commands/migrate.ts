import { syncMonitorInputs } from '../../monitoring/monitor-inputs.js'
import type { Config } from '../../platform/config.js'
import { migrateDown, migrateUp, migrationStatus } from '../../platform/db/migrator.js'
import { withOpsDeps } from './ops-deps.js'

/** `pam migrate up|down|status`: PAM's tables, and in Postgres-only mode BullMQ's schema too (up). */
export async function runMigrateCommand(config: Config, action: string | undefined): Promise<void> {
  if (action !== 'up' && action !== 'down' && action !== 'status') {
    process.stderr.write('usage: npx pam migrate up|down|status\n')
    process.exit(2)
  }
  await withOpsDeps(config, `migrate ${action}`, async (deps) => {
    if (action === 'status') {
      for (const m of await migrationStatus(deps.db)) {
        process.stdout.write(`${m.executedAt ? `applied ${m.executedAt.toISOString()}` : 'pending'}  ${m.name}\n`)
      }
      return
    }
    const applied = action === 'up' ? await migrateUp(deps.db) : await migrateDown(deps.db)
    if (action === 'up') {
      await syncMonitorInputs(deps.db, { prune: true })
      await deps.backend.migrate()
    }
    process.stdout.write(applied.length > 0 ? `${applied.join('\n')}\n` : `nothing to migrate ${action}\n`)
  })
}
