import { rename, rm, stat } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import pg from 'pg'
import type { Config } from '../../platform/config.js'
import { createBackup, recogniseBackup, restoreBackup } from '../backup/logical-backup.js'
import { UsageError, withOpsDeps } from './ops-deps.js'

const USAGE = 'usage: npx pam backup create [--out FILE] | npx pam backup restore FILE'

const defaultName = () =>
  `pam-${new Date()
    .toISOString()
    .replaceAll(':', '')
    .replace(/\.\d+Z$/, 'Z')}.backup.gz`

/**
 * `pam backup create [--out FILE]`: PAM's data (every table of its schema) as of one moment, with
 * the migrations it belongs to. `pam backup restore FILE`: replaces PAM's data with it, in one
 * transaction, then migrates to this version. PAM's own COPY over its connection: no pg_dump
 * (see src/app/backup/logical-backup.ts and docs/operations.md for why).
 */
export async function runBackupCommand(config: Config, args: string[]): Promise<void> {
  const [action, ...rest] = args
  if (action !== 'create' && action !== 'restore') throw new UsageError(USAGE)
  const { values, positionals } = parseArgs({
    args: rest,
    options: { out: { type: 'string' } },
    allowPositionals: true,
  })
  const file = action === 'create' ? (values.out ?? defaultName()) : positionals[0]
  if (!file) throw new UsageError(USAGE)
  if (action === 'restore') {
    const found = await stat(file).catch(() => undefined)
    if (!found?.isFile()) throw new UsageError(`no backup file at ${file}`)
    await recogniseBackup(file).catch((error: Error) => {
      throw new UsageError(error.message)
    })
  } else if (await stat(file).catch(() => undefined)) {
    throw new UsageError(`${file} exists: give another --out, or remove it first`)
  }

  await withOpsDeps(config, `backup ${action}`, async (deps) => {
    const client = new pg.Client({ connectionString: deps.databaseUrl, application_name: `pam-backup-${action}` })
    // A server that goes away fails the statement in flight; without a listener it would also end the process.
    client.on('error', () => undefined)
    await client.connect()
    try {
      if (action === 'create') {
        // Written beside the target and renamed into place only when complete: a failed or
        // interrupted backup never leaves a file that looks like one.
        const partial = `${file}.partial`
        try {
          const { header, rows } = await createBackup(client, partial)
          await rename(partial, file)
          const { size } = await stat(file)
          process.stdout.write(`${file}\n`)
          process.stderr.write(
            `backed up ${deps.databaseLabel} to ${file}: ${rows} rows in ${header.tables.length} tables, ${(size / 1024).toFixed(0)} KiB, at migration ${header.migrations.at(-1)}\n`,
          )
        } finally {
          await rm(partial, { force: true })
        }
      } else {
        const { header, rows, migrated } = await restoreBackup(client, file)
        process.stderr.write(
          `restored ${file} (made ${header.createdAt} by PAM ${header.pamVersion}, ${rows} rows) into ${deps.databaseLabel}${migrated.length > 0 ? `, then migrated: ${migrated.join(', ')}` : ''}\n`,
        )
      }
    } finally {
      await client.end()
    }
  })
}
