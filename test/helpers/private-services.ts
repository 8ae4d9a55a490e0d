import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEmbeddedPostgres } from '../../src/platform/db/embedded.js'
import { createLogger } from '../../src/platform/logger.js'
import { atExit, TEST_FOLDER_PREFIX, TEST_RUN } from './cleanup.js'
import { eventually } from './harness.js'
import { freePort } from './process.js'
import { canReachRedis } from './services.js'

export interface PrivatePostgres {
  url: string
  /**
   * Fast shutdown by default: every session ends with 57P01, as in a restart or failover.
   * `immediate`: the server quits at once without a checkpoint (a crash; it recovers on start).
   */
  stop(mode?: 'fast' | 'immediate'): Promise<void>
  start(): Promise<void>
  /** Stops the server if it runs and deletes its data folder. */
  remove(): Promise<void>
}

/** A folder named with the run's id (cleanup.ts), so the runner finds what a killed test left. */
const runFolder = (what: string) =>
  mkdtempSync(join(tmpdir(), `${TEST_FOLDER_PREFIX}${TEST_RUN ? `${TEST_RUN}-` : ''}${what}-`))

/**
 * A PostgreSQL server of this test's own, which it may stop and start: the binaries PAM's
 * embedded default uses, in a temporary folder. Killed and removed when the test process ends,
 * however it ends.
 */
export async function privatePostgres(options: { password?: string } = {}): Promise<PrivatePostgres> {
  const home = runFolder('postgres')
  // As root the server runs as `postgres`, which must be able to enter the folder.
  chmodSync(home, 0o755)
  const postmaster = join(home, 'pgdata', 'postmaster.pid')
  const serverPid = () => Number(readFileSync(postmaster, 'utf8').split('\n')[0])
  const forget = atExit(() => {
    if (existsSync(postmaster)) process.kill(serverPid(), 'SIGQUIT')
    rmSync(home, { recursive: true, force: true })
  })
  const port = await freePort()
  const launch = () =>
    startEmbeddedPostgres({
      home,
      port,
      password: options.password ?? 'pam-faults',
      logger: createLogger({ level: 'warn', role: 'test' }),
    })
  let server: Awaited<ReturnType<typeof launch>>
  try {
    server = await launch()
  } catch (error) {
    forget()
    rmSync(home, { recursive: true, force: true })
    throw error
  }
  const url = server.url
  return {
    url,
    async stop(mode = 'fast') {
      // By hand: PAM's own stop waits for sessions first, which an outage does not.
      process.kill(serverPid(), mode === 'fast' ? 'SIGINT' : 'SIGQUIT')
      await eventually(async () => (existsSync(postmaster) ? undefined : true), 30_000, 'PostgreSQL to stop')
    },
    async start() {
      server = await launch()
    },
    async remove() {
      try {
        await server.stop()
      } finally {
        forget()
        rmSync(home, { recursive: true, force: true })
      }
    },
  }
}

export interface PrivateRedis {
  url: string
  stop(): Promise<void>
  /** kill -9: the server goes at once, keeping only what it had written (its AOF, when persistent). */
  kill(): Promise<void>
  /** Starts it again on its port (with its data, when persistent), once it answers. */
  start(): Promise<void>
}

/** Why a private Redis cannot run here, or undefined when it can. */
export function privateRedisUnavailable(): string | undefined {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' })
    return undefined
  } catch {
    return 'redis-server is not installed, so no private Redis can be started'
  }
}

/**
 * A Redis server of this test's own on a free port. By default with no persistence; `persistent`
 * runs it as production does (docker-compose.yml): AOF fsynced every second, no eviction, a
 * password, its data in a folder of the run, so a killed server restarts with its data.
 */
export async function privateRedis(options: { persistent?: boolean; password?: string } = {}): Promise<PrivateRedis> {
  const port = await freePort()
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : ''
  const url = `redis://${auth}127.0.0.1:${port}`
  const dir = options.persistent ? runFolder('redis') : undefined
  const args = [
    ...['--port', String(port), '--bind', '127.0.0.1'],
    ...(options.password ? ['--requirepass', options.password] : []),
    ...(dir
      ? ['--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction']
      : ['--save', '', '--appendonly', 'no']),
  ]
  let server: ChildProcess | undefined
  const kill = async () => {
    const running = server
    if (running && running.exitCode === null && running.signalCode === null) {
      running.kill('SIGKILL')
      await new Promise((resolve) => running.once('exit', resolve))
    }
  }
  const forget = atExit(() => {
    server?.kill('SIGKILL')
    if (dir) rmSync(dir, { recursive: true, force: true })
  })
  const start = async () => {
    // Its environment carries the run's id: the runner finds a server a killed test left running.
    server = spawn('redis-server', args, {
      stdio: 'ignore',
      env: { PATH: process.env.PATH ?? '', ...(TEST_RUN ? { PAM_TEST_RUN: TEST_RUN } : {}) },
    })
    await eventually(async () => ((await canReachRedis(url)) ? true : undefined), 10_000, 'the private Redis')
  }
  const stop = async () => {
    await kill()
    forget()
    if (dir) rmSync(dir, { recursive: true, force: true })
  }
  try {
    await start()
  } catch (error) {
    await stop()
    throw error
  }
  return { url, stop, kill, start }
}
