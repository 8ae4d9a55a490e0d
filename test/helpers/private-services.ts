import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEmbeddedPostgres } from '../../src/db/embedded.js'
import { createLogger } from '../../src/logger.js'
import { eventually } from './harness.js'
import { freePort } from './process.js'
import { canReachRedis } from './services.js'

export interface PrivatePostgres {
  url: string
  /** Fast shutdown: every session ends with 57P01, as in a restart or failover. */
  stop(): Promise<void>
  start(): Promise<void>
  /** Stops the server if it runs and deletes its data folder. */
  remove(): Promise<void>
}

/**
 * A PostgreSQL server of this test's own, which it may stop and start: the binaries PAM's
 * embedded default uses, in a temporary folder.
 */
export async function privatePostgres(): Promise<PrivatePostgres> {
  const home = mkdtempSync(join(tmpdir(), 'pam-faults-'))
  // As root the server runs as `postgres`, which must be able to enter the folder.
  chmodSync(home, 0o755)
  const port = await freePort()
  const launch = () =>
    startEmbeddedPostgres({
      home,
      port,
      password: 'pam-faults',
      logger: createLogger({ level: 'warn', role: 'test' }),
    })
  let server: Awaited<ReturnType<typeof launch>>
  try {
    server = await launch()
  } catch (error) {
    rmSync(home, { recursive: true, force: true })
    throw error
  }
  const url = server.url
  const postmaster = join(home, 'pgdata', 'postmaster.pid')
  return {
    url,
    async stop() {
      // Fast shutdown by hand: PAM's own stop waits for sessions first, which an outage does not.
      const pid = Number(readFileSync(postmaster, 'utf8').split('\n')[0])
      process.kill(pid, 'SIGINT')
      await eventually(async () => (existsSync(postmaster) ? undefined : true), 30_000, 'PostgreSQL to stop')
    },
    async start() {
      server = await launch()
    },
    async remove() {
      try {
        await server.stop()
      } finally {
        rmSync(home, { recursive: true, force: true })
      }
    },
  }
}

export interface PrivateRedis {
  url: string
  /** Kills the server (SIGKILL: what it held is gone, as with no persistence). */
  stop(): Promise<void>
  /** Starts it again on the same port, empty. */
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

/** A Redis server of this test's own on a free port, with no persistence, which it may kill and start again. */
export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  let server: ChildProcess | undefined
  const kill = () => server?.kill('SIGKILL')
  const stop = async () => {
    process.off('exit', kill)
    const running = server
    if (running && running.exitCode === null && running.signalCode === null) {
      running.kill('SIGKILL')
      await new Promise((resolve) => running.once('exit', resolve))
    }
  }
  const start = async () => {
    server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    )
    process.once('exit', kill)
    try {
      await eventually(async () => ((await canReachRedis(url)) ? true : undefined), 10_000, 'the private Redis')
    } catch (error) {
      await stop()
      throw error
    }
  }
  await start()
  return { url, stop, start }
}
