import { cpSync, rmSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { basename } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { startFakeWebhook } from '../helpers/fake-webhook.js'
import { startSmtpPeer } from '../helpers/smtp-peer.js'
import { type Deployment, startDeployment } from './deployment.js'
import { runFaults } from './faults.js'
import { alertsMatchReadings, judge, processesServing, viewsMatchServer } from './invariants.js'
import { type Load, startLoad } from './load.js'
import { type Observations, observe } from './observe.js'
import { formatReport } from './report.js'
import { faultSchedule } from './schedule.js'
import { createTraveller, type Traveller } from './traveller.js'

export interface SystemOptions {
  mode: 'redis' | 'postgres'
  apis: number
  workers: number
  travellers: number
  vehiclesPerTraveller: number
  log: (line: string) => void
  /** Copy every process's log into this folder before the run's folder is removed. */
  keepLogs?: string
}

/**
 * PAM as deployed (deployment.ts), a real SMTP peer for its email, a webhook for its operator
 * alerts, and travellers with their streams open: what a chaos run, or its self-test, acts on.
 */
export async function startSystem(options: SystemOptions) {
  const startedAt = Date.now()
  const smtp = await startSmtpPeer()
  const webhook = await startFakeWebhook()
  let deployment: Deployment | undefined
  const travellers: Traveller[] = []
  const close = async () => {
    for (const traveller of travellers) traveller.stream.close()
    await deployment?.close()
    await webhook.close()
    await smtp.stop()
    if (deployment && options.keepLogs) {
      const kept = options.keepLogs
      cpSync(deployment.folder, kept, { recursive: true, filter: (path) => basename(path) !== 'home' })
      options.log(`logs kept in ${kept}`)
    }
    if (deployment) rmSync(deployment.folder, { recursive: true, force: true })
  }
  try {
    deployment = await startDeployment({ ...options, smtpUrl: smtp.url, opsWebhookUrl: webhook.url, startedAt })
    options.log(`deployment up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s (${options.mode} mode)`)
    const bases = (deployment as Deployment).apiBases
    const jwtSecret = deployment.secrets.JWT_SECRET as string
    for (let i = 0; i < options.travellers; i++) {
      travellers.push(await createTraveller(bases, jwtSecret, smtp, i, options.vehiclesPerTraveller))
    }
  } catch (error) {
    await close()
    throw error
  }
  const running = deployment

  /** Runs `read` on a connection of its own to the deployment's database. */
  const withDatabase = async <T>(read: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: running.databaseUrl, connectionTimeoutMillis: 5_000 })
    client.on('error', () => undefined)
    await client.connect()
    try {
      return await read(client)
    } finally {
      await client.end().catch(() => undefined)
    }
  }

  const system = {
    deployment: running,
    travellers,
    smtp,
    webhook,
    withDatabase,
    observe: (load: Load, settings: { logs: boolean }, client?: pg.ClientBase): Promise<Observations> => {
      const parts = { deployment: running, travellers, writes: load.writes, mails: smtp.state.mails }
      return client ? observe(client, parts, settings) : withDatabase((c) => observe(c, parts, settings))
    },
    /**
     * Stops the load (readings in flight still go through) and waits, at most `withinMs`, for what
     * a quiet system reaches by itself: every process serving, alerts matching the readings, each
     * client's view the server's, no delivery on its way, every sent email received. Says how it went.
     */
    async settle(load: Load, withinMs: number): Promise<string> {
      const began = Date.now()
      const deadline = began + withinMs
      await load.stop(deadline)
      let off: string[] = ['nothing read yet']
      for (;;) {
        const o = await system.observe(load, { logs: false }).catch((error: Error) => {
          off = [`could not read: ${error.message}`]
          return undefined
        })
        if (o) {
          const sent = o.deliveries.filter((d) => d.status === 'sent').length
          off = [
            ...[processesServing, alertsMatchReadings, viewsMatchServer]
              .map((invariant) =>
                invariant({ ...o, processes: o.processes.map((p) => ({ ...p, unexpectedExits: [] })) }),
              )
              .filter((v) => !v.ok)
              .map((v) => `${v.title}: ${v.figures}`),
            ...(o.deliveries.some((d) => d.status === 'queued' || d.status === 'sending')
              ? ['deliveries still queued or sending']
              : []),
            ...(o.mails.length < sent ? [`${sent - o.mails.length} sent emails not received yet`] : []),
          ]
          if (off.length === 0) return `settled in ${((Date.now() - began) / 1000).toFixed(1)} s`
        }
        if (Date.now() > deadline) return `NOT settled within ${withinMs / 1000} s: ${off.join('; ')}`
        await sleep(1_000)
      }
    },
    close,
  }
  return system
}

export type System = Awaited<ReturnType<typeof startSystem>>

export interface ChaosOptions extends SystemOptions {
  seconds: number
  seed: number
  /** Readings offered per second over all vehicles. */
  rate: number
  settleMs: number
}

/**
 * A chaos run: the load and the seeded faults for `seconds`, then the settle, then every
 * invariant judged. Resolves with the report and whether every invariant held.
 */
export async function runChaos(options: ChaosOptions): Promise<{ ok: boolean; report: string }> {
  const loadAtStart = loadavg()[0] ?? 0
  const system = await startSystem(options)
  try {
    const { deployment, travellers } = system
    const load = startLoad(travellers, deployment.apiBases, { rate: options.rate })
    const startedAt = Date.now()
    const schedule = faultSchedule(options.seed, {
      redis: options.mode === 'redis',
      apis: options.apis,
      workers: options.workers,
    })
    // The clock time too: the report's examples say when an alert changed by the clock.
    const at = (time = Date.now()) =>
      `${new Date(time).toISOString().slice(11, 23)} (+${((time - startedAt) / 1000).toFixed(1)} s)`
    const faults = await runFaults(deployment, schedule, startedAt + options.seconds * 1000, (line, struck) =>
      options.log(`${at(struck)} ${line}`),
    )
    await sleep(Math.max(0, startedAt + options.seconds * 1000 - Date.now()))
    options.log(`${at()} load and faults over; settling`)
    const settled = await system.settle(load, options.settleMs)
    const observations = await system.observe(load, { logs: true })
    const verdicts = judge(observations)
    const report = formatReport({
      title: `chaos [${options.mode} mode], seed ${options.seed}: ${options.seconds / 60} minutes of load and faults`,
      conditions: `Node ${process.version}, ${cpus().length} CPUs, load average ${loadAtStart.toFixed(1)} at start and ${(loadavg()[0] ?? 0).toFixed(1)} at the end; ${options.travellers} travellers × ${options.vehiclesPerTraveller} vans, ${options.rate} readings/s offered; ${options.apis} pam api, ${options.workers} pam worker, 1 pam scheduler`,
      load,
      faults,
      travellers,
      observations,
      verdicts,
      settled,
      operatorAlerts: system.webhook.texts.length,
    })
    return { ok: verdicts.every((v) => v.ok), report }
  } finally {
    await system.close()
  }
}
