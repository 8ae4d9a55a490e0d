import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { atExit, TEST_FOLDER_PREFIX, TEST_RUN } from './cleanup.js'
import { eventually } from './harness.js'
import { freePort } from './process.js'
import { canReachPostgres } from './services.js'

export interface Pooler {
  /** `url` with its host and port replaced by the pooler's: the same database, through PgBouncer. */
  through(url: string): string
  stop(): Promise<void>
}

/** Why PgBouncer cannot run here, or undefined when it can. */
export function poolerUnavailable(): string | undefined {
  try {
    execFileSync('pgbouncer', ['--version'], { stdio: 'ignore' })
    return undefined
  } catch {
    return 'pgbouncer is not installed (Debian package pgbouncer; .ci/run installs it)'
  }
}

/**
 * PgBouncer in transaction mode in front of the PostgreSQL that `serverUrl` names, as Supabase's
 * pooler and most managed poolers run: each transaction may land on another server connection,
 * so session state (LISTEN, session locks, SET, named prepared statements) does not carry over.
 * Every database of that server is reachable through it, logging in as `serverUrl`'s user.
 */
export async function startPgBouncer(serverUrl: string): Promise<Pooler> {
  const server = new URL(serverUrl)
  const home = mkdtempSync(join(tmpdir(), `${TEST_FOLDER_PREFIX}${TEST_RUN ? `${TEST_RUN}-` : ''}pgbouncer-`))
  // PgBouncer refuses to run as root; there it runs as `postgres`, which must read its files.
  chmodSync(home, 0o755)
  const port = await freePort()
  const login = [
    `host=${server.hostname}`,
    `port=${server.port || '5432'}`,
    `user=${decodeURIComponent(server.username || 'postgres')}`,
    ...(server.password ? [`password=${decodeURIComponent(server.password)}`] : []),
  ].join(' ')
  const ini = join(home, 'pgbouncer.ini')
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = ${login}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      // `any`: clients are not checked; every server login uses the line above.
      'auth_type = any',
      'pool_mode = transaction',
      'max_client_conn = 500',
      'default_pool_size = 20',
      // Set by pg and BullMQ at connect; PgBouncer refuses unknown startup parameters otherwise.
      'ignore_startup_parameters = extra_float_digits,options,application_name',
      'server_reset_query =',
      'log_connections = 0',
      'log_disconnections = 0',
    ].join('\n'),
    { mode: 0o644 },
  )
  const asRoot = process.getuid?.() === 0
  let pooler: ChildProcess | undefined
  const forget = atExit(() => {
    pooler?.kill('SIGKILL')
    rmSync(home, { recursive: true, force: true })
  })
  const stop = async () => {
    const running = pooler
    if (running && running.exitCode === null && running.signalCode === null) {
      running.kill('SIGINT')
      await new Promise((resolve) => running.once('exit', resolve))
    }
    forget()
    rmSync(home, { recursive: true, force: true })
  }
  const through = (url: string) => {
    const pooled = new URL(url)
    pooled.hostname = '127.0.0.1'
    pooled.port = String(port)
    return pooled.toString()
  }
  try {
    pooler = spawn('pgbouncer', [...(asRoot ? ['-u', 'postgres'] : []), ini], {
      stdio: 'ignore',
      env: { PATH: process.env.PATH ?? '', ...(TEST_RUN ? { PAM_TEST_RUN: TEST_RUN } : {}) },
    })
    await eventually(
      async () => ((await canReachPostgres(through(serverUrl))) ? true : undefined),
      10_000,
      'PgBouncer to answer',
    )
  } catch (error) {
    await stop()
    throw error
  }
  return { through, stop }
}
