import { AFTERMATH_MS, type FaultRecord } from './faults.js'
import type { Verdict } from './invariants.js'
import type { Load } from './load.js'
import type { Observations } from './observe.js'
import type { Traveller } from './traveller.js'

/** Nearest-rank percentile of `values` (ms); undefined for none. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]
}

/**
 * Write→alert latency as the traveller sees it: from sending the low reading that was accepted to
 * its socket receiving the alert made from that reading (the alert's data.observedAt). Under
 * faults when that span overlaps a fault, from its strike to AFTERMATH_MS after the part answered
 * again. Readings with no alert of their own are counted: the alert was made but never reached the
 * socket, or none was made (a later reading was evaluated first).
 */
export function writeToAlert(
  o: Pick<Observations, 'writes' | 'alerts'>,
  travellers: readonly Traveller[],
  faults: readonly FaultRecord[],
) {
  const key = (vehicleId: string, observedAt: number) => `${vehicleId}|${observedAt}`
  const receipts = new Map(
    travellers.flatMap((t) => [...t.stream.receipts.values()].map((r) => [key(r.vehicleId, r.observedAt), r] as const)),
  )
  const made = new Set(o.alerts.map((a) => key(a.vehicleId ?? '', a.observedAt)))
  const result = { quiet: [] as number[], faults: [] as number[], notReceived: 0, notMade: 0 }
  for (const write of o.writes) {
    if (write.state === 'clear' || write.acceptedSentAt === undefined) continue
    const id = key(write.vehicleId, Date.parse(write.observedAt))
    const receipt = receipts.get(id)
    if (!receipt) {
      if (made.has(id)) result.notReceived++
      else result.notMade++
      continue
    }
    const from = write.acceptedSentAt
    const faulted = faults.some((f) => from <= f.recoveredAt + AFTERMATH_MS && receipt.at >= f.startedAt)
    ;(faulted ? result.faults : result.quiet).push(receipt.at - from)
  }
  return result
}

const ms = (value: number | undefined) => (value === undefined ? '-' : `${Math.round(value)} ms`)
const tally = (entries: Iterable<[string | number, number]>) =>
  [...entries]
    .sort((a, b) => b[1] - a[1])
    .map(([what, n]) => `${what} ×${n}`)
    .join(', ')

export interface RunFigures {
  title: string
  conditions: string
  load: Load
  faults: readonly FaultRecord[]
  travellers: readonly Traveller[]
  observations: Observations
  verdicts: readonly Verdict[]
  settled: string
  operatorAlerts: number
}

/** The run's report: conditions, counts, latency, and each invariant's PASS or FAIL with figures. */
export function formatReport(run: RunFigures): string {
  const { load, observations: o } = run
  const accepted = load.writes.filter((w) => w.acceptedAt !== undefined)
  const retries = load.writes.reduce((n, w) => n + Math.max(0, w.attempts - 1), 0)
  const waits = accepted.map((w) => (w.acceptedAt ?? 0) - Date.parse(w.observedAt))
  const latency = writeToAlert(o, run.travellers, run.faults)
  const kinds = new Map<string, number>()
  for (const f of run.faults) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1)
  const lines = [
    run.title,
    `  conditions: ${run.conditions}`,
    `  faults: ${run.faults.length} (${tally(kinds) || 'none'})${run.faults.some((f) => f.note) ? `; notes: ${run.faults.flatMap((f) => (f.note ? [`${f.kind} ${f.target}: ${f.note}`] : [])).join('; ')}` : ''}`,
    `  writes: ${load.writes.length} offered, ${accepted.length} accepted, ${retries} retries; answers: ${tally(load.statuses)}; longest wait for acceptance ${ms(Math.max(0, ...waits))}; ${load.skippedTicks} ticks skipped (every vehicle busy)`,
    `  stream: ${run.travellers.reduce((n, t) => n + t.stream.reconnects, 0)} reconnections; emails: ${o.mails.length} received; operator alerts: ${run.operatorAlerts}`,
    `  write→alert on the socket: quiet p50 ${ms(percentile(latency.quiet, 50))} p99 ${ms(percentile(latency.quiet, 99))} (${latency.quiet.length}); under faults p50 ${ms(percentile(latency.faults, 50))} p99 ${ms(percentile(latency.faults, 99))} (${latency.faults.length}); low readings whose alert never reached the socket: ${latency.notReceived}, with no alert of their own: ${latency.notMade}`,
    `  settle: ${run.settled}`,
    ...run.verdicts.flatMap((v) => [
      `  ${v.ok ? 'PASS' : 'FAIL'} ${v.id}. ${v.title}: ${v.figures}`,
      ...v.examples.map((example) => `         - ${example}`),
    ]),
  ]
  return lines.join('\n')
}
