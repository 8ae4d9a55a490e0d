import { rename, rm, stat } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { sql } from 'kysely'
import { checkToolVersion, runTool, toolMajorVersion } from '../backup/pg-tools.js'
import type { Config } from '../config.js'
import type { Db } from '../db/database.js'
import { UsageError, withOpsDeps } from './ops-deps.js'

const USAGE = 'usage: npx pam backup create [--out FILE] | npx pam backup restore FILE'

async function serverMajor(db: Db): Promise<number> {
  const { rows } = await sql<{ server_version_num: string }>`show server_version_num`.execute(db)
  return Math.floor(Number(rows[0]?.server_version_num) / 10_000)
}

/**
 * `pam backup create [--out FILE]`: pg_dump in custom format of the whole database (PAM's tables and,
 * in Postgres-only mode, BullMQ's schema). `pam backup restore FILE`: pg_restore over it, replacing
 * what is there, in one transaction (a failed restore changes nothing).
 */
export async function runBackupCommand(config: Config, args: string[]): Promise<void> {
  const [action, ...rest] = args
  if (action !== 'create' && action !== 'restore') throw new UsageError(USAGE)
  const { values, positionals } = parseArgs({
    args: rest,
    options: { out: { type: 'string' } },
    allowPositionals: true,
  })
  const file =
    action === 'create'
      ? (values.out ??
        `pam-${new Date()
          .toISOString()
          .replaceAll(':', '')
          .replace(/\.\d+Z$/, 'Z')}.dump`)
      : positionals[0]
  if (!file) throw new UsageError(USAGE)
  if (action === 'restore') {
    const found = await stat(file).catch(() => undefined)
    if (!found?.isFile()) throw new UsageError(`no backup file at ${file}`)
  }

  await withOpsDeps(config, `backup ${action}`, async (deps) => {
    const tool = action === 'create' ? 'pg_dump' : 'pg_restore'
    checkToolVersion(tool, await toolMajorVersion(tool), await serverMajor(deps.db))
    if (action === 'create') {
      // pg_dump writes as it goes: a failed or interrupted dump must not leave a file that looks
      // like a backup. It writes beside the target and is renamed into place only when complete.
      const partial = `${file}.partial`
      try {
        await runTool('pg_dump', ['--format=custom', '--no-owner', '--no-acl', `--file=${partial}`], deps.databaseUrl)
        await rename(partial, file)
      } finally {
        await rm(partial, { force: true })
      }
      const { size } = await stat(file)
      process.stdout.write(`${file}\n`)
      process.stderr.write(`backed up ${deps.databaseLabel} to ${file} (${(size / 1024).toFixed(0)} KiB)\n`)
    } else {
      await runTool(
        'pg_restore',
        [
          '--clean',
          '--if-exists',
          '--no-owner',
          '--no-acl',
          '--single-transaction',
          `--dbname=${new URL(deps.databaseUrl).pathname.slice(1)}`,
          file,
        ],
        deps.databaseUrl,
      )
      process.stderr.write(`restored ${file} into ${deps.databaseLabel}\n`)
    }
  })
}
