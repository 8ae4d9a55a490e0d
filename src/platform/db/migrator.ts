import { type MigrationResultSet, Migrator } from 'kysely'
import { messageOf } from '../errors/error-message.js'
import type { Db } from './database.js'
import { migrations } from './migrations/index.js'

export interface MigrationState {
  name: string
  executedAt: Date | null
}

function migrator(db: Db, options: { disableTransactions?: boolean } = {}) {
  return new Migrator({ db, provider: { getMigrations: async () => migrations }, ...options })
}

/** Kysely's migrator locks its own table, so two roles migrating at start take turns. */
export async function migrateUp(db: Db): Promise<string[]> {
  return applied(await migrator(db).migrateToLatest())
}

/**
 * Migrates to `target` (down or up; the latest when undefined) inside a transaction the caller
 * holds on `db`'s one connection: a restore moves the schema and the data together, or not at all.
 */
export async function migrateWithin(db: Db, target?: string): Promise<string[]> {
  const within = migrator(db, { disableTransactions: true })
  return applied(await (target ? within.migrateTo(target) : within.migrateToLatest()))
}

export async function migrateDown(db: Db): Promise<string[]> {
  return applied(await migrator(db).migrateDown())
}

export async function migrationStatus(db: Db): Promise<MigrationState[]> {
  const list = await migrator(db).getMigrations()
  return list.map((m) => ({ name: m.name, executedAt: m.executedAt ?? null }))
}

function applied({ error, results }: MigrationResultSet): string[] {
  const failed = results?.find((r) => r.status === 'Error')
  if (error) {
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${messageOf(error) ?? error}`, {
      cause: error,
    })
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => `${r.direction} ${r.migrationName}`)
}
