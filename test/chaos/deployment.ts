import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import webPush from 'web-push'
import { atExit, TEST_RUN, tempFolder } from '../helpers/cleanup.js'
import { eventually } from '../helpers/harness.js'
import { type PrivatePostgres, type PrivateRedis, privatePostgres, privateRedis } from '../helpers/private-services.js'
import { freePort, pamArgs } from '../helpers/process.js'

export type Role = 'api' | 'worker' | 'scheduler'

/** What must never appear in a log line: named, so a finding says which without printing it. */
export type Secrets = Record<string, string>

/** A process started late is still within bounds: 5 s on a loaded 2-core machine, tsx not involved. */
const START_WITHIN_MS = 90_000

/**
 * One role instance of the deployment (`api-1`, `worker-2`, `scheduler`). Each start is a new
 * process (an incarnation) with its own log file; an exit nobody asked for is remembered.
 */
export interface Slot {
  name: string
  role: Role
  /** PORT of an API, METRICS_PORT of a worker or the scheduler: /health answers there. */
  port: number
  process: ChildProcess | undefined
  /** Every incarnation's log, oldest first. */
  logs: string[]
  /** Exits the harness did not cause: `api-1 exited with 1 at 12.3 s`. */
  unexpectedExits: string[]
  /** Set while the harness is the one stopping it. */
  stopping: boolean
}

export interface Deployment {
  mode: 'redis' | 'postgres'
  databaseUrl: string
  secrets: Secrets
  internalToken: string
  apis: Slot[]
  workers: Slot[]
  scheduler: Slot
  postgres: PrivatePostgres
  redis: PrivateRedis | undefined
  /** The run's folder: logs and PAM_HOME. */
  folder: string
  slots(): Slot[]
  /** `127.0.0.1:port` of each API. */
  apiBases(): string[]
  /** Starts the slot's next incarnation; resolves once its /health answers. */
  start(slot: Slot): Promise<void>
  /** Sends a signal to the slot's process group. */
  signal(slot: Slot, signal: NodeJS.Signals): void
  /** Signals the slot as the harness (not an unexpected exit) and waits for it to end, at most `withinMs`. */
  stop(slot: Slot, signal: NodeJS.Signals, withinMs?: number): Promise<{ exit: number | string; forced: boolean }>
  close(): Promise<void>
}

export interface DeploymentOptions {
  mode: 'redis' | 'postgres'
  apis: number
  workers: number
  smtpUrl: string
  opsWebhookUrl: string
  startedAt: number
}

const secret = () => randomBytes(24).toString('base64url')

/**
 * PAM as deployed (docker-compose.yml, render.yaml): production settings, migrations run once as
 * a release step, then each role in processes of its own — on a PostgreSQL and, in Redis mode, a
 * Redis (AOF, password) of this run's own, which faults may kill and restart.
 */
export async function startDeployment(options: DeploymentOptions): Promise<Deployment> {
  const folder = tempFolder()
  const vapid = webPush.generateVAPIDKeys()
  const secrets: Secrets = {
    JWT_SECRET: secret(),
    INTERNAL_TOKEN: secret(),
    'database password': secret(),
    'VAPID private key': vapid.privateKey,
    OPS_ALERT_WEBHOOK_URL: options.opsWebhookUrl,
    ...(options.mode === 'redis' ? { 'Redis password': secret() } : {}),
  }
  const postgres = await privatePostgres({ password: secrets['database password'] })
  let redis: PrivateRedis | undefined
  try {
    if (options.mode === 'redis') redis = await privateRedis({ persistent: true, password: secrets['Redis password'] })
  } catch (error) {
    await postgres.remove()
    throw error
  }
  const apiPorts = await Promise.all(Array.from({ length: options.apis }, () => freePort()))
  // Providers on a closed port fail at once: alerts are raised without their stations.
  const closed = `http://127.0.0.1:${await freePort()}`
  const env: Record<string, string> = {
    ENVIRONMENT: 'production',
    DATABASE_URL: postgres.url,
    ...(redis ? { REDIS_URL: redis.url } : {}),
    JWT_SECRET: secrets.JWT_SECRET as string,
    INTERNAL_TOKEN: secrets.INTERNAL_TOKEN as string,
    VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
    VAPID_SUBJECT: 'mailto:ops@example.org',
    HOST: '127.0.0.1',
    CORS_ORIGINS: 'https://app.example.org',
    LOG_LEVEL: 'info',
    PLACES_API_URL: closed,
    WEATHER_API_URL: closed,
    SMTP_URL: options.smtpUrl,
    EMAIL_FROM: 'PAM <alerts@example.org>',
    OPS_ALERT_WEBHOOK_URL: options.opsWebhookUrl,
    PUBLIC_URL: `http://127.0.0.1:${apiPorts[0]}`,
    PAM_HOME: join(folder, 'home'),
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    ...(TEST_RUN ? { PAM_TEST_RUN: TEST_RUN } : {}),
  }
  const elapsed = () => `${((Date.now() - options.startedAt) / 1000).toFixed(1)} s`

  const slot = (role: Role, name: string, port: number): Slot => ({
    name,
    role,
    port,
    process: undefined,
    logs: [],
    unexpectedExits: [],
    stopping: false,
  })
  const apis = apiPorts.map((port, i) => slot('api', `api-${i + 1}`, port))
  const workers = await Promise.all(
    Array.from({ length: options.workers }, async (_, i) => slot('worker', `worker-${i + 1}`, await freePort())),
  )
  const scheduler = slot('scheduler', 'scheduler', await freePort())
  const slots = () => [...apis, ...workers, scheduler]

  /** `pam <args>` in a process group of its own, its output in `log`; killed if the harness ends first. */
  const spawnPam = (args: string[], log: string, extra: Record<string, string> = {}) => {
    const out = openSync(log, 'a')
    const child = spawn(process.execPath, pamArgs(args), {
      env: { ...env, ...extra },
      stdio: ['ignore', out, out],
      detached: true,
    })
    closeSync(out)
    const forget = atExit(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    })
    child.once('exit', forget)
    return child
  }

  const signal = (target: Slot, name: NodeJS.Signals) => {
    const pid = target.process?.pid
    if (pid === undefined || target.process?.exitCode !== null || target.process.signalCode !== null) return
    try {
      process.kill(-pid, name)
    } catch {
      // Gone already.
    }
  }

  const start = async (target: Slot) => {
    const log = join(folder, `${target.name}.${target.logs.length}.log`)
    target.logs.push(log)
    const child = spawnPam(
      [target.role],
      log,
      target.role === 'api' ? { PORT: String(target.port) } : { METRICS_PORT: String(target.port) },
    )
    target.process = child
    target.stopping = false
    child.once('exit', (code, name) => {
      if (!target.stopping) target.unexpectedExits.push(`${target.name} exited with ${name ?? code} at ${elapsed()}`)
    })
    await eventually(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`${target.name} ended while starting:\n${tail(log)}`)
        }
        const response = await fetch(`http://127.0.0.1:${target.port}/health`, {
          signal: AbortSignal.timeout(2_000),
        }).catch(() => undefined)
        return response?.status === 200 ? true : undefined
      },
      START_WITHIN_MS,
      `${target.name} to answer /health`,
    )
  }

  const stop = async (target: Slot, name: NodeJS.Signals, withinMs = 60_000) => {
    const child = target.process
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      return { exit: child?.exitCode ?? child?.signalCode ?? 'not running', forced: false }
    }
    target.stopping = true
    const exited = new Promise<number | string>((resolve) =>
      child.once('exit', (code, by) => resolve(by ?? code ?? 'unknown')),
    )
    signal(target, name)
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), withinMs)
    })
    const first = await Promise.race([exited, late])
    clearTimeout(timer)
    if (first !== 'late') return { exit: first, forced: false }
    signal(target, 'SIGKILL')
    return { exit: await exited, forced: true }
  }

  const deployment: Deployment = {
    mode: options.mode,
    databaseUrl: env.DATABASE_URL as string,
    secrets,
    internalToken: secrets.INTERNAL_TOKEN as string,
    apis,
    workers,
    scheduler,
    postgres,
    redis,
    folder,
    slots,
    apiBases: () => apis.map((api) => `127.0.0.1:${api.port}`),
    start,
    signal,
    stop,
    async close() {
      for (const target of slots()) signal(target, 'SIGCONT')
      await Promise.all(slots().map((target) => stop(target, 'SIGTERM', 15_000)))
      await redis?.stop()
      await postgres.remove()
    },
  }

  try {
    // The release step (render.yaml's preDeployCommand, fly.toml's release_command): production
    // roles do not migrate on start.
    const migrate = spawnPam(['migrate', 'up'], join(folder, 'migrate.log'))
    const code = await new Promise((resolve) => migrate.once('exit', (c, s) => resolve(s ?? c)))
    if (code !== 0) throw new Error(`pam migrate up ended with ${code}:\n${tail(join(folder, 'migrate.log'))}`)
    await Promise.all(slots().map(start))
  } catch (error) {
    await deployment.close()
    throw error
  }
  return deployment
}

/** The last lines of a log, for an error message. */
export function tail(log: string, lines = 15): string {
  try {
    return readFileSync(log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}
