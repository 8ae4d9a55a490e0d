import type { Config } from '../config.js'
import { migrateDown, migrateUp, migrationStatus } from '../db/migrator.js'
import { buildDeps } from '../deps.js'
import { createLogger } from '../logger.js'

/** `pam migrate up|down|status`: PAM's tables, and in Postgres-only mode BullMQ's schema too (up). */
export async function runMigrateCommand(config: Config, action: string | undefined): Promise<void> {
  if (action !== 'up' && action !== 'down' && action !== 'status') {
    process.stderr.write('usage: pam migrate up|down|status\n')
    process.exit(2)
  }
  const logger = createLogger({
    level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL,
    role: 'migrate',
    stream: 'stderr',
  })
  const deps = await buildDeps(config, logger)
  try {
    if (action === 'status') {
      for (const m of await migrationStatus(deps.db)) {
        process.stdout.write(`${m.executedAt ? `applied ${m.executedAt.toISOString()}` : 'pending'}  ${m.name}\n`)
      }
      return
    }
    const applied = action === 'up' ? await migrateUp(deps.db) : await migrateDown(deps.db)
    if (action === 'up') await deps.backend.migrate()
    process.stdout.write(applied.length > 0 ? `${applied.join('\n')}\n` : `nothing to migrate ${action}\n`)
  } catch (error) {
    process.stderr.write(`pam: migrate ${action} failed: ${(error as Error).message}\n`)
    process.exitCode = 1
  } finally {
    await deps.close()
  }
}
