import { setTimeout as sleep } from 'node:timers/promises'
import { messageOf } from '../../src/platform/errors/error-message.js'
import type { Deployment, Slot } from './deployment.js'
import type { FaultKind, PlannedFault } from './schedule.js'

/** A fault as it happened: when it struck, when it was lifted, when the part answered again. */
export interface FaultRecord {
  kind: FaultKind
  target: string
  startedAt: number
  liftedAt: number
  recoveredAt: number
  /** What was odd: a SIGTERM that needed a SIGKILL, a restart that failed. */
  note?: string
}

/** How long after a fault is lifted the system is still counted as under it (latency figures). */
export const AFTERMATH_MS = 5_000

/**
 * Strikes the planned faults one after another until `endAt`: each after its gap, lifted after its
 * hold, the next one's gap counted from the moment the part struck answers again. `log` is told
 * of each, with when it struck. Resolves once the last one has been lifted.
 */
export async function runFaults(
  deployment: Deployment,
  schedule: Iterator<PlannedFault>,
  endAt: number,
  log: (line: string, at: number) => void,
): Promise<FaultRecord[]> {
  const records: FaultRecord[] = []
  for (;;) {
    const planned = schedule.next().value as PlannedFault
    if (Date.now() + planned.gapMs >= endAt) return records
    await sleep(planned.gapMs)
    const record = await strike(deployment, planned)
    records.push(record)
    log(
      `fault ${records.length}: ${record.kind} ${record.target}, lifted after ${((record.liftedAt - record.startedAt) / 1000).toFixed(1)} s, answering after ${((record.recoveredAt - record.startedAt) / 1000).toFixed(1)} s${record.note ? ` (${record.note})` : ''}`,
      record.startedAt,
    )
  }
}

async function strike(deployment: Deployment, planned: PlannedFault): Promise<FaultRecord> {
  const slot = (list: Slot[]) => list[planned.target % list.length] as Slot
  const target =
    planned.kind === 'kill -9 api'
      ? slot(deployment.apis)
      : planned.kind.endsWith('worker')
        ? slot(deployment.workers)
        : planned.kind === 'kill -9 scheduler'
          ? deployment.scheduler
          : undefined
  const record: FaultRecord = {
    kind: planned.kind,
    target: target?.name ?? (planned.kind === 'stop postgres' ? 'postgres' : 'redis'),
    startedAt: Date.now(),
    liftedAt: 0,
    recoveredAt: 0,
  }
  const lifted = () => {
    record.liftedAt = Date.now()
  }
  const notes: string[] = []
  try {
    switch (planned.kind) {
      case 'kill -9 api':
      case 'kill -9 worker':
      case 'kill -9 scheduler':
      case 'SIGTERM worker': {
        if (!target) break
        const sigterm = planned.kind === 'SIGTERM worker'
        // A SIGTERM waits for the jobs in flight (SHUTDOWN_TIMEOUT_MS, 25 s), and gets a little more.
        const { exit, forced } = await deployment.stop(target, sigterm ? 'SIGTERM' : 'SIGKILL', 40_000)
        if (forced) notes.push('SIGTERM did not end it within 40 s: killed')
        else if (sigterm && exit !== 0) notes.push(`SIGTERM: exited with ${exit}`)
        lifted()
        await deployment.start(target)
        break
      }
      case 'SIGSTOP worker':
        if (!target) break
        deployment.signal(target, 'SIGSTOP')
        await sleep(planned.holdMs)
        deployment.signal(target, 'SIGCONT')
        lifted()
        break
      case 'kill -9 redis':
        await deployment.redis?.kill()
        lifted()
        await deployment.redis?.start()
        break
      case 'stop postgres':
        await deployment.postgres.stop('immediate')
        await sleep(planned.holdMs)
        lifted()
        await deployment.postgres.start()
        break
    }
  } catch (error) {
    notes.push(`could not recover: ${messageOf(error).split('\n')[0]}`)
  }
  record.liftedAt ||= Date.now()
  record.recoveredAt = Date.now()
  if (notes.length > 0) record.note = notes.join('; ')
  return record
}
