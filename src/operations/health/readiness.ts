import { sql } from 'kysely'
import type { QueueBackend } from '../../platform/backend/backend.js'
import { QUEUE_NAMES } from '../../platform/backend/queue-names.js'
import type { Db } from '../../platform/db/database.js'
import { liveProcesses } from '../../platform/heartbeats/heartbeat-repository.js'

export interface Readiness {
  ready: boolean
  components: {
    database: boolean
    /** null in Postgres-only mode: there is no Redis to need. */
    redis: boolean | null
    workers: boolean
  }
  /** Queues no live worker consumes; empty when `workers` is true. */
  queuesWithoutWorkers: string[]
  durationMs: number
}

const CHECK_TIMEOUT_MS = 2_000

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}

const succeeds = (work: Promise<unknown>) =>
  withTimeout(work, CHECK_TIMEOUT_MS).then(
    () => true,
    () => false,
  )

/**
 * Checks every dependency at once, each bounded by a timeout, so readiness never hangs. With
 * `storeReady` (the API's: false until this process knows PAM's migrations are applied), the
 * database is not ready before that either: a new API pod waits for its migration out of rotation.
 */
export async function checkReadiness(deps: {
  db: Db
  backend: QueueBackend
  storeReady?: () => boolean
}): Promise<Readiness> {
  const started = performance.now()
  const [database, redis, live] = await Promise.all([
    // In Postgres-only mode the database also holds the queues: ready means jobs can be added.
    (deps.storeReady?.() ?? true) &&
      succeeds(Promise.all([sql`select 1`.execute(deps.db), deps.backend.checkQueueStore?.()])),
    deps.backend.pingRedis ? succeeds(deps.backend.pingRedis(CHECK_TIMEOUT_MS)) : Promise.resolve(null),
    withTimeout(liveProcesses(deps.db), CHECK_TIMEOUT_MS).catch(() => undefined),
  ])
  const consumed = new Set(live?.filter((p) => p.role === 'worker').flatMap((p) => p.queues))
  const queuesWithoutWorkers = QUEUE_NAMES.filter((queue) => !consumed.has(queue))
  const workers = live !== undefined && queuesWithoutWorkers.length === 0
  return {
    ready: database && redis !== false && workers,
    components: { database, redis, workers },
    queuesWithoutWorkers,
    durationMs: Math.round((performance.now() - started) * 10) / 10,
  }
}

/**
 * `check` as often as callers poll, up to `freshPerSecond` times a second; past that, callers get
 * the latest answer (at most `maxAgeMs` old). /ready is unauthenticated: 150 pollers each reaching
 * the database and Redis slowed every other request, while a load balancer or a test polling a few
 * times a second still sees every change at once. Callers arriving while a check runs share it.
 */
export function recentReadiness(
  check: () => Promise<Readiness>,
  options: { maxAgeMs: number; freshPerSecond: number },
  now = () => Date.now(),
) {
  type Answer = Readiness & { checkedAt: Date }
  let latest: { at: number; result: Promise<Answer> } | undefined
  let running: Promise<Answer> | undefined
  let second = { start: 0, fresh: 0 }
  return (): Promise<Answer> => {
    if (running) return running
    const at = now()
    if (at - second.start >= 1_000) second = { start: at, fresh: 0 }
    if (latest && at - latest.at < options.maxAgeMs && second.fresh >= options.freshPerSecond) return latest.result
    second.fresh++
    const result = check().then((readiness) => ({ ...readiness, checkedAt: new Date(at) }))
    running = result.finally(() => {
      running = undefined
    })
    latest = { at, result }
    return running
  }
}
