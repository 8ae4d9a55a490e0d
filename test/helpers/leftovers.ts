import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import pg from 'pg'
import { TEST_FOLDER_PREFIX } from './cleanup.js'

/**
 * The runner's safety net after every test file has ended: whatever carries the run's id (see
 * cleanup.ts) and is still there was left by a test file that was killed or leaks. Each finder
 * removes what it finds and returns its names, which the runner prints.
 */

/** Processes started for this run: PAM_TEST_RUN in their environment, or a run folder in argv. */
export function killRunProcesses(run: string): string[] {
  if (!run) return []
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)
  } catch {
    return [] // no /proc: not Linux
  }
  const killed: string[] = []
  for (const pid of pids) {
    const read = (file: string) => {
      try {
        return readFileSync(`/proc/${pid}/${file}`, 'utf8')
      } catch {
        return ''
      }
    }
    const environ = read('environ').split('\0')
    const argv = read('cmdline').split('\0').join(' ').trim()
    if (!environ.includes(`PAM_TEST_RUN=${run}`) && !argv.includes(`${TEST_FOLDER_PREFIX}${run}-`)) continue
    try {
      process.kill(Number(pid), 'SIGKILL')
      killed.push(`${pid} ${argv.slice(0, 120)}`)
    } catch {
      // It ended meanwhile.
    }
  }
  return killed
}

export async function dropRunDatabases(adminUrl: string, run: string): Promise<string[]> {
  if (!run) return []
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 })
  await client.connect()
  try {
    const { rows } = await client.query<{ datname: string }>('select datname from pg_database where datname like $1', [
      `pam\\_test\\_${run}\\_%`,
    ])
    for (const { datname } of rows) await client.query(`drop database if exists "${datname}" with (force)`)
    return rows.map((row) => row.datname)
  } finally {
    await client.end()
  }
}

export async function dropRunRedisKeys(url: string, run: string): Promise<string[]> {
  if (!run || !url) return []
  const client = new Redis(url, { maxRetriesPerRequest: 1 })
  const found: string[] = []
  try {
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `pamtest_${run}_*`, 'COUNT', 1000)
      if (keys.length > 0) await client.del(...keys)
      found.push(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    client.disconnect()
  }
  const prefixes = new Set(found.map((key) => key.split(':')[0]))
  return [...prefixes].map(
    (prefix) => `${prefix}:* (${found.filter((key) => key.startsWith(`${prefix}:`)).length} keys)`,
  )
}

export function removeRunFolders(run: string): string[] {
  if (!run) return []
  const folders = readdirSync(tmpdir()).filter((name) => name.startsWith(`${TEST_FOLDER_PREFIX}${run}-`))
  for (const name of folders) rmSync(join(tmpdir(), name), { recursive: true, force: true })
  return folders.map((name) => join(tmpdir(), name))
}
