import { uniformInt } from 'pure-rand/distribution/uniformInt'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'

/**
 * The faults of a chaos run, drawn from a seed: the same seed and mode give the same sequence of
 * faults, gaps and holds (when each strikes in wall time depends on how long recoveries take).
 */
export type FaultKind =
  | 'kill -9 api'
  | 'kill -9 worker'
  | 'kill -9 scheduler'
  | 'kill -9 redis'
  | 'SIGTERM worker'
  | 'SIGSTOP worker'
  | 'stop postgres'

export const FAULT_KINDS: readonly FaultKind[] = [
  'kill -9 api',
  'kill -9 worker',
  'kill -9 scheduler',
  'kill -9 redis',
  'SIGTERM worker',
  'SIGSTOP worker',
  'stop postgres',
]

export interface PlannedFault {
  kind: FaultKind
  /** How long after the previous fault was lifted (or the load began) this one strikes. */
  gapMs: number
  /** Which API or worker (0-based); 0 for the others. */
  target: number
  /** How long PostgreSQL stays down, or the worker stays stopped; 0 for the others. */
  holdMs: number
}

export const FAULT_GAP_MS = { min: 5_000, max: 20_000 }
export const POSTGRES_DOWN_MS = { min: 6_000, max: 14_000 }
// Below the workers' 30 s job lock: a stopped worker's jobs wait for it, no other worker takes them.
export const WORKER_STOPPED_MS = { min: 4_000, max: 16_000 }

/** An endless, seeded sequence of faults for a deployment of `apis` APIs and `workers` workers. */
export function* faultSchedule(
  seed: number,
  options: { redis: boolean; apis: number; workers: number },
): Generator<PlannedFault> {
  const rng = xoroshiro128plus(seed)
  const between = (range: { min: number; max: number }) => uniformInt(rng, range.min, range.max)
  // Postgres-only mode has no Redis to kill.
  const kinds = FAULT_KINDS.filter((kind) => options.redis || kind !== 'kill -9 redis')
  for (;;) {
    const kind = kinds[uniformInt(rng, 0, kinds.length - 1)] as FaultKind
    const gapMs = between(FAULT_GAP_MS)
    const targets = kind === 'kill -9 api' ? options.apis : kind.endsWith('worker') ? options.workers : 1
    const target = uniformInt(rng, 0, targets - 1)
    const holdMs =
      kind === 'stop postgres' ? between(POSTGRES_DOWN_MS) : kind === 'SIGSTOP worker' ? between(WORKER_STOPPED_MS) : 0
    yield { kind, gapMs, target, holdMs }
  }
}
