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
  stop(): Promise<void>
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

/** A Redis server of this test's own on a free port, with no persistence. */
export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  const server: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  )
  const kill = () => server.kill('SIGKILL')
  process.once('exit', kill)
  const stop = async () => {
    process.off('exit', kill)
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGKILL')
      await new Promise((resolve) => server.once('exit', resolve))
    }
  }
  try {
    await eventually(async () => ((await canReachRedis(url)) ? true : undefined), 10_000, 'the private Redis')
  } catch (error) {
    await stop()
    throw error
  }
  return { url, stop }
}
