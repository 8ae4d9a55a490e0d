import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { ParsedMail } from 'mailparser'
import type pg from 'pg'
import type { Deployment, Secrets, Slot } from './deployment.js'
import type { Write } from './load.js'
import type { Traveller } from './traveller.js'

/**
 * Everything the invariants are judged on, read at one moment: the load's record, the database,
 * the SMTP peer, each client's view, the processes and their logs. Plain data, so a self-test can
 * break one part on purpose and see its invariant fail.
 */
export interface Observations {
  travellers: {
    id: string
    email: string
    vehicles: string[]
    /** The alerts the client believes open (id → priority), and when it had no socket. */
    view: ReadonlyMap<string, string>
    gaps: readonly { from: number; to: number | undefined }[]
  }[]
  writes: readonly Write[]
  readings: { id: string; vehicleId: string; percent: number; observedAt: number }[]
  alerts: {
    id: string
    userId: string
    kind: string
    priority: string
    condition: string
    vehicleId: string | null
    title: string
    observedAt: number
    createdAt: number
    resolvedAt: number | null
    open: boolean
  }[]
  /** Email deliveries only: the channel whose far end the run can see. */
  deliveries: { alertId: string; status: string; reason: string | null; attempts: number; inDoubt: boolean }[]
  mails: { to: string; subject: string }[]
  processes: { name: string; serving: boolean; detail: string; unexpectedExits: string[] }[]
  /** Secrets found in the logs (by name, never by value), and how much was read; absent while settling. */
  logs?: { files: number; bytes: number; found: { secret: string; file: string }[] }
}

export async function readDatabase(client: pg.ClientBase) {
  const readings = await client.query<{ id: string; vehicle_id: string; percent: string; observed_at: Date }>(
    'select id, vehicle_id, percent, observed_at from fuel_readings',
  )
  const alerts = await client.query<{
    id: string
    user_id: string
    kind: string
    priority: string
    condition: string
    vehicle_id: string | null
    title: string
    observed_at: string | null
    created_at: Date
    resolved_at: Date | null
    open: boolean
  }>(
    `select id, user_id, kind, priority, split_part(dedupe_key, '|', 1) as condition, data->>'vehicleId' as vehicle_id,
            title, data->>'observedAt' as observed_at, created_at,
            case when resolved_at is not null then resolved_at when expires_at <= now() then expires_at end as resolved_at,
            resolved_at is null and (expires_at is null or expires_at > now()) as open
     from alerts`,
  )
  const deliveries = await client.query<{
    alert_id: string
    status: string
    reason: string | null
    attempts: number
    in_doubt: boolean
  }>(`select alert_id, status, reason, attempts, in_doubt from deliveries where channel = 'email'`)
  return {
    readings: readings.rows.map((r) => ({
      id: r.id,
      vehicleId: r.vehicle_id,
      percent: Number(r.percent),
      observedAt: r.observed_at.getTime(),
    })),
    alerts: alerts.rows.map((a) => ({
      id: a.id,
      userId: a.user_id,
      kind: a.kind,
      priority: a.priority,
      condition: a.condition,
      vehicleId: a.vehicle_id,
      title: a.title,
      observedAt: a.observed_at ? Date.parse(a.observed_at) : Number.NaN,
      createdAt: a.created_at.getTime(),
      resolvedAt: a.resolved_at?.getTime() ?? null,
      open: a.open,
    })),
    deliveries: deliveries.rows.map((d) => ({
      alertId: d.alert_id,
      status: d.status,
      reason: d.reason,
      attempts: d.attempts,
      inDoubt: d.in_doubt,
    })),
  }
}

async function answers(url: string, headers: Record<string, string> = {}) {
  try {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(5_000) })
    const text = await response.text()
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined }
  } catch {
    return { status: 0, body: undefined }
  }
}

/**
 * Whether each process serves: alive, /health 200; an API's /ready 200 too; a worker or the
 * scheduler also beating (its pid among the live processes the API lists).
 */
export async function readProcesses(deployment: Deployment): Promise<Observations['processes']> {
  const bases = deployment.apiBases()
  let beating = new Set<number>()
  for (const base of bases) {
    const { status, body } = await answers(`http://${base}/internal/worker/heartbeat`, {
      authorization: `Bearer ${deployment.internalToken}`,
    })
    if (status !== 200) continue
    beating = new Set((body as { workers: { pid: number }[] }).workers.map((w) => w.pid))
    break
  }
  return Promise.all(
    deployment.slots().map(async (slot: Slot) => {
      const child = slot.process
      const alive = child !== undefined && child.exitCode === null && child.signalCode === null
      const health = alive ? (await answers(`http://127.0.0.1:${slot.port}/health`)).status : 0
      const problems = [...(alive ? [] : ['not running']), ...(health === 200 ? [] : [`/health ${health}`])]
      if (slot.role === 'api') {
        const ready = await answers(`http://127.0.0.1:${slot.port}/ready`)
        if (ready.status !== 200) problems.push(`/ready ${ready.status} ${JSON.stringify(ready.body ?? '')}`)
      } else if (alive && !beating.has(child.pid ?? -1)) problems.push('no live heartbeat')
      return {
        name: slot.name,
        serving: problems.length === 0,
        detail: problems.join(', ') || 'serving',
        unexpectedExits: slot.unexpectedExits,
      }
    }),
  )
}

const CHUNK_BYTES = 4 * 1024 * 1024

/** Every log of the run read in chunks (a 30-minute run writes tens of MB), looking for each secret. */
export function scanLogs(folder: string, secrets: Secrets): NonNullable<Observations['logs']> {
  const files = readdirSync(folder).filter((name) => name.endsWith('.log'))
  const longest = Math.max(...Object.values(secrets).map((value) => value.length))
  const found: { secret: string; file: string }[] = []
  let bytes = 0
  for (const name of files) {
    const path = join(folder, name)
    const size = statSync(path).size
    bytes += size
    const fd = openSync(path, 'r')
    const buffer = Buffer.alloc(CHUNK_BYTES + longest)
    const hits = new Set<string>()
    try {
      // Each chunk starts a secret's length before the previous one ended: none is cut in two.
      for (let offset = 0; offset < size; offset += CHUNK_BYTES) {
        const start = Math.max(0, offset - longest)
        const read = readSync(fd, buffer, 0, buffer.length, start)
        const text = buffer.toString('utf8', 0, read)
        for (const [secret, value] of Object.entries(secrets)) if (text.includes(value)) hits.add(secret)
      }
    } finally {
      closeSync(fd)
    }
    for (const secret of hits) found.push({ secret, file: name })
  }
  return { files: files.length, bytes, found }
}

/** The secrets of the run: the deployment's, and each traveller's token (its signature is enough). */
export function runSecrets(deployment: Deployment, travellers: readonly Traveller[]): Secrets {
  const tokens = Object.fromEntries(
    travellers.map((traveller, i) => [`traveller ${i + 1}'s JWT`, traveller.token.split('.')[2] ?? traveller.token]),
  )
  return { ...deployment.secrets, ...tokens }
}

export async function observe(
  client: pg.ClientBase,
  parts: {
    deployment: Deployment
    travellers: readonly Traveller[]
    writes: readonly Write[]
    mails: readonly ParsedMail[]
  },
  options: { logs: boolean },
): Promise<Observations> {
  const database = await readDatabase(client)
  return {
    travellers: parts.travellers.map((t) => ({
      id: t.id,
      email: t.email,
      vehicles: t.vehicles.map((v) => v.id),
      view: new Map(t.stream.open),
      gaps: t.stream.gaps.map((gap) => ({ ...gap })),
    })),
    writes: parts.writes,
    ...database,
    mails: parts.mails.map((mail) => ({
      to: mail.to && !Array.isArray(mail.to) ? (mail.to.value[0]?.address ?? '') : '',
      subject: mail.subject ?? '',
    })),
    processes: await readProcesses(parts.deployment),
    ...(options.logs
      ? { logs: scanLogs(parts.deployment.folder, runSecrets(parts.deployment, parts.travellers)) }
      : {}),
  }
}
