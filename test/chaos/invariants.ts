import type { Observations } from './observe.js'

/** One invariant's verdict: its figures always, and a few examples when it fails. */
export interface Verdict {
  id: number
  title: string
  ok: boolean
  figures: string
  examples: string[]
}

/** The deployment's fuel thresholds (FUEL_MEDIUM_BELOW_PERCENT, FUEL_HIGH_BELOW_PERCENT: the defaults). */
const FUEL = { medium: 20, high: 10 }
const EXAMPLES = 5

const verdict = (id: number, title: string, problems: string[], figures: string): Verdict => ({
  id,
  title,
  ok: problems.length === 0,
  figures,
  examples: problems.slice(0, EXAMPLES),
})

const count = <T>(items: Iterable<T>, key: (item: T) => string) => {
  const counts = new Map<string, number>()
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1)
  return counts
}

const readingKey = (vehicleId: string, observedAt: number) => `${vehicleId}|${observedAt}`

export function storedOnce(o: Observations): Verdict {
  const stored = new Map<string, { id: string }[]>()
  for (const r of o.readings) {
    const key = readingKey(r.vehicleId, r.observedAt)
    stored.set(key, [...(stored.get(key) ?? []), r])
  }
  const problems: string[] = []
  const accepted = o.writes.filter((w) => w.acceptedAt !== undefined)
  const known = new Set<string>()
  for (const w of o.writes) {
    const key = readingKey(w.vehicleId, Date.parse(w.observedAt))
    known.add(key)
    const rows = stored.get(key) ?? []
    if (w.refused) problems.push(`refused: ${w.percent} % for ${w.vehicleId}: ${w.refused}`)
    if (rows.length > 1) problems.push(`stored ${rows.length} times: ${w.percent} % at ${w.observedAt}`)
    if (w.acceptedAt === undefined) continue
    if (rows.length === 0) problems.push(`accepted, not stored: ${w.percent} % at ${w.observedAt} (${w.vehicleId})`)
    else if (w.readingId && !rows.some((row) => row.id === w.readingId))
      problems.push(`answered id ${w.readingId}, stored as ${rows[0]?.id}`)
  }
  const strays = o.readings.filter((r) => !known.has(readingKey(r.vehicleId, r.observedAt)))
  for (const r of strays)
    problems.push(`stored, never written: ${r.percent} % at ${new Date(r.observedAt).toISOString()}`)
  const unfinished = o.writes.filter((w) => w.acceptedAt === undefined && !w.refused).length
  return verdict(
    1,
    'every accepted write stored exactly once',
    problems,
    `${accepted.length} accepted, ${o.readings.length} stored, ${unfinished} never answered for good`,
  )
}

export function alertsMatchReadings(o: Observations): Verdict {
  const last = new Map<string, { percent: number; observedAt: number }>()
  for (const r of o.readings) {
    const seen = last.get(r.vehicleId)
    if (!seen || r.observedAt > seen.observedAt) last.set(r.vehicleId, r)
  }
  const open = new Map<string, string[]>()
  for (const a of o.alerts) {
    if (a.open && a.kind === 'fuel_low' && a.vehicleId)
      open.set(a.vehicleId, [...(open.get(a.vehicleId) ?? []), a.priority])
  }
  const problems: string[] = []
  let low = 0
  const vehicles = o.travellers.flatMap((t) => t.vehicles)
  for (const vehicleId of vehicles) {
    const reading = last.get(vehicleId)
    const expected =
      reading === undefined || reading.percent >= FUEL.medium ? 'none' : reading.percent < FUEL.high ? 'high' : 'medium'
    if (expected !== 'none') low++
    const actual = [...new Set(open.get(vehicleId) ?? [])].sort().join('+') || 'none'
    if (actual !== expected) {
      problems.push(
        `vehicle ${vehicleId}: last reading ${reading?.percent ?? '-'} % wants ${expected}, open: ${actual}`,
      )
    }
  }
  return verdict(
    2,
    "every vehicle's open alert matches its last reading",
    problems,
    `${vehicles.length} vehicles, ${low} low at the end, ${problems.length} mismatched`,
  )
}

export function oneOpenPerCondition(o: Observations): Verdict {
  const open = o.alerts.filter((a) => a.open)
  const counts = count(open, (a) => `${a.userId}|${a.condition}`)
  const problems = [...counts]
    .filter(([, n]) => n > 1)
    .map(([key, n]) => `${n} open alerts for ${key.split('|')[1]} (traveller ${key.split('|')[0]})`)
  return verdict(3, 'one open alert per condition', problems, `${open.length} open alerts, ${problems.length} doubled`)
}

/** Events sent this close before a socket closed may be lost with it: counted as during the gap. */
const IN_FLIGHT_MS = 1_000

export function viewsMatchServer(o: Observations): Verdict {
  const problems: string[] = []
  const alerts = new Map(o.alerts.map((a) => [a.id, a]))
  const tally = { missing: 0, stale: 0, whileReconnecting: 0 }
  for (const t of o.travellers) {
    // When the change was made: with the client's socket open, or while it was reconnecting.
    const when = (what: string, at: number | null) => {
      if (at === null) return what
      const gap = t.gaps.some((g) => at >= g.from - IN_FLIGHT_MS && at <= (g.to ?? Number.POSITIVE_INFINITY))
      if (gap) tally.whileReconnecting++
      return `${what} at ${new Date(at).toISOString().slice(11, 23)}, ${gap ? 'while the client was reconnecting' : 'its socket open'}`
    }
    const server = o.alerts.filter((a) => a.open && a.userId === t.id)
    const notShown = server.filter((a) => !t.view.has(a.id)).map((a) => `${a.id} (${when('created', a.createdAt)})`)
    const shown = [...t.view.keys()]
      .filter((id) => !alerts.get(id)?.open)
      .map((id) => {
        const alert = alerts.get(id)
        return `${id} (${alert ? when('closed', alert.resolvedAt) : 'unknown to the server'})`
      })
    tally.missing += notShown.length
    tally.stale += shown.length
    if (notShown.length + shown.length > 0) {
      problems.push(
        `traveller ${t.id}: open on the server, not on the client: [${notShown.join(', ')}]; on the client only: [${shown.join(', ')}]`,
      )
    }
  }
  return verdict(
    4,
    "every client's view equals the server's open alerts",
    problems,
    `${o.travellers.length} travellers, ${problems.length} differ: ${tally.missing} open alerts not on their client, ${tally.stale} closed ones still shown (${tally.whileReconnecting} of these made while the client was reconnecting)`,
  )
}

/** An email's identity: its address and subject (the alert's title: "Fuel at 4.9 % in Van 1"). */
const mailKeys = (o: Observations) => {
  const emailOf = new Map(o.travellers.map((t) => [t.id, t.email]))
  const alertKey = new Map(o.alerts.map((a) => [a.id, `${emailOf.get(a.userId)}|${a.title}`]))
  return {
    alertKey,
    alerts: count(o.alerts, (a) => alertKey.get(a.id) ?? ''),
    mails: count(o.mails, (m) => `${m.to}|${m.subject}`),
  }
}

export function noEmailTwice(o: Observations): Verdict {
  const keys = mailKeys(o)
  const problems = [...keys.mails]
    .filter(([key, n]) => n > (keys.alerts.get(key) ?? 0))
    .map(
      ([key, n]) => `${n} emails "${key.split('|')[1]}" to ${key.split('|')[0]}, ${keys.alerts.get(key) ?? 0} alerts`,
    )
  const emailed = o.deliveries.filter((d) => d.status === 'sent').length
  return verdict(
    5,
    'no email sent twice for one alert',
    problems,
    `${o.mails.length} emails received, ${emailed} alerts emailed, ${problems.length} sent more than once`,
  )
}

export function deliveriesMatchMails(o: Observations): Verdict {
  const keys = mailKeys(o)
  const sent = count(
    o.deliveries.filter((d) => d.status === 'sent'),
    (d) => keys.alertKey.get(d.alertId) ?? '',
  )
  // A row taken over from a worker killed between the send and its record says so (in doubt): it
  // agrees with a mail received as with none, the one thing PAM cannot know.
  const inDoubt = new Set(o.deliveries.filter((d) => d.inDoubt).map((d) => keys.alertKey.get(d.alertId) ?? ''))
  const problems: string[] = []
  let notReceived = 0
  let notRecorded = 0
  let doubtful = 0
  for (const key of new Set([...sent.keys(), ...keys.mails.keys()])) {
    const rows = sent.get(key) ?? 0
    const mails = keys.mails.get(key) ?? 0
    const [to, subject] = key.split('|')
    if (rows > mails) {
      notReceived += rows - mails
      problems.push(`recorded sent, never received: "${subject}" to ${to}`)
    } else if (mails > rows && inDoubt.has(key)) {
      doubtful += mails - rows
    } else if (mails > rows) {
      notRecorded += mails - rows
      const row = o.deliveries.find((d) => keys.alertKey.get(d.alertId) === key)
      problems.push(
        `received ${mails}, recorded sent ${rows}: "${subject}" to ${to} (row: ${row ? `${row.status}${row.reason ? `: ${row.reason}` : ''}, attempts ${row.attempts}` : 'none'})`,
      )
    }
  }
  const statuses = [...count(o.deliveries, (d) => d.status)].map(([status, n]) => `${n} ${status}`).join(', ')
  return verdict(
    6,
    'delivery rows agree with what the SMTP peer received',
    problems,
    `email rows: ${statuses || 'none'}; ${notReceived} sent but not received, ${notRecorded} received but not recorded as sent, ${doubtful} received and recorded in doubt`,
  )
}

export function processesServing(o: Observations): Verdict {
  const problems = [
    ...o.processes.filter((p) => !p.serving).map((p) => `${p.name}: ${p.detail}`),
    ...o.processes.flatMap((p) => p.unexpectedExits.map((exit) => `${exit} (no fault asked for it)`)),
  ]
  const serving = o.processes.filter((p) => p.serving).length
  return verdict(
    7,
    'every process serving (/health, /ready, heartbeats)',
    problems,
    `${serving} of ${o.processes.length} serving, ${o.processes.reduce((n, p) => n + p.unexpectedExits.length, 0)} exits nobody caused`,
  )
}

export function noSecretInLogs(o: Observations): Verdict {
  const logs = o.logs ?? { files: 0, bytes: 0, found: [] }
  return verdict(
    8,
    'no secret in any log',
    logs.found.map((f) => `${f.secret} in ${f.file}`),
    `${logs.files} logs, ${(logs.bytes / 1e6).toFixed(1)} MB read, ${logs.found.length} secrets found`,
  )
}

export const INVARIANTS = [
  storedOnce,
  alertsMatchReadings,
  oneOpenPerCondition,
  viewsMatchServer,
  noEmailTwice,
  deliveriesMatchMails,
  processesServing,
  noSecretInLogs,
] as const

export const judge = (o: Observations): Verdict[] => INVARIANTS.map((invariant) => invariant(o))

/** Deliveries still on their way (queued or being sent): the run has not settled while there are any. */
export const pendingDeliveries = (o: Observations) =>
  o.deliveries.filter((d) => d.status === 'queued' || d.status === 'sending').length
