/**
 * The conditions an operator is told about, as pure functions of a snapshot of the deployment
 * (gathered by operations-snapshot-repository.ts). Each firing condition has a stable key: the
 * same problem keeps its key from one check to the next, so it is announced once. The text is
 * PAM's words and names only: an error's message can carry what a traveller (or a push service,
 * or a mail server) wrote, and it would reach the operator's chat; it says where to read the error.
 */

export type ConditionKind =
  | 'store_unavailable'
  | 'job_failed'
  | 'sweep_unhealthy'
  | 'queue_without_worker'
  | 'schedule_missed'
  | 'provider_failing'
  | 'ai_budget'

export interface FailedJob {
  queue: string
  task: string
  failedAt: Date
  /** It failed because a store was away, and its work comes back by itself (task-declarations.ts' `recovers`). */
  recovers: boolean
}

/** PostgreSQL or Redis not answering: one condition for the whole outage, however many jobs fail in it. */
export interface StoreOutage {
  store: 'postgres' | 'redis'
  since: Date
}

export interface SweepRun {
  monitor: string
  status: 'succeeded' | 'degraded' | 'failed'
  finishedAt: Date
}

export interface ScheduleState {
  schedule: string
  /** When a job of this schedule last started; undefined: not since it has been watched. */
  lastRunAt: Date | undefined
  /** Time between two runs (the cron pattern's period at the last run). */
  cadenceMs: number
}

export interface OperationsSnapshot {
  now: Date
  /** Stores that did not answer the snapshot's reads (the queues' store; PostgreSQL's outage is the watch's). */
  unavailable: StoreOutage[]
  /** Jobs that failed for good (no retry left) within JOB_FAILURE_WINDOW_MS. */
  failedJobs: FailedJob[]
  /** The latest finished run of each monitor's sweep. */
  sweeps: SweepRun[]
  /** Live workers (a heartbeat within the heartbeat window) per queue, every queue listed. */
  workersPerQueue: Record<string, number>
  schedules: ScheduleState[]
  /** When this deployment's checks began: a schedule that never ran is measured from here. */
  watchingSince: Date
  /** Lookups per provider over PROVIDER_WINDOW_MS. */
  providers: { provider: string; succeeded: number; failed: number }[]
  /** Today's AI spending against its daily budget; undefined where there is no AI ledger. */
  aiBudget?: { spent: number; limit: number }
}

export interface Thresholds {
  providerFailureRatio: number
}

export interface FiringCondition {
  key: string
  kind: ConditionKind
  summary: string
}

export const JOB_FAILURE_WINDOW_MS = 15 * 60_000
export const PROVIDER_WINDOW_MS = 15 * 60_000
// Fewer lookups than this say nothing about a provider's health (one failure would be 100 %).
const MIN_PROVIDER_LOOKUPS = 5
// A schedule's job may wait behind others in its queue: a run this late past twice its cadence is missed.
const SCHEDULE_SLACK_MS = 30_000
export const AI_BUDGET_WARN_RATIO = 0.8

const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`
const percent = (ratio: number) => `${Math.round(ratio * 100)} %`

const STORE_NAMES = { postgres: 'PostgreSQL', redis: 'Redis' } as const
const OUTAGE_EFFECTS = {
  postgres: 'writes answer 503 and jobs wait',
  redis: 'jobs cannot be queued; writes are kept and evaluated once it is back',
} as const

/** The one condition of a store's outage. */
export function storeUnavailable(outage: StoreOutage): FiringCondition {
  return {
    key: `store_unavailable:${outage.store}`,
    kind: 'store_unavailable',
    summary: `${STORE_NAMES[outage.store]} does not answer since ${outage.since.toISOString()}: ${OUTAGE_EFFECTS[outage.store]}; jobs that fail meanwhile and redo their work by themselves are not reported one by one`,
  }
}

/** Jobs failed for good whose work is lost, by task: one that failed in an outage and recovers by itself is the outage's. */
function failedJobs(snapshot: OperationsSnapshot): FiringCondition[] {
  const byTask = new Map<string, FailedJob[]>()
  for (const job of snapshot.failedJobs) {
    if (job.recovers) continue
    const key = `${job.queue}:${job.task}`
    byTask.set(key, [...(byTask.get(key) ?? []), job])
  }
  return [...byTask].map(([key, jobs]) => {
    const latest = jobs.reduce((a, b) => (b.failedAt > a.failedAt ? b : a))
    return {
      key: `job_failed:${key}`,
      kind: 'job_failed',
      summary: `${jobs.length} ${latest.task} job(s) on queue ${latest.queue} failed for good in the last ${minutes(JOB_FAILURE_WINDOW_MS)}, the latest at ${latest.failedAt.toISOString()}; why: npx pam inspect failed --queue ${latest.queue}`,
    }
  })
}

function unhealthySweeps(snapshot: OperationsSnapshot): FiringCondition[] {
  return snapshot.sweeps
    .filter((run) => run.status !== 'succeeded')
    .map((run) => ({
      key: `sweep_unhealthy:${run.monitor}`,
      kind: 'sweep_unhealthy',
      summary:
        run.status === 'degraded'
          ? `the ${run.monitor} sweep finished degraded at ${run.finishedAt.toISOString()}: some users were evaluated without their provider's data`
          : `the ${run.monitor} sweep failed at ${run.finishedAt.toISOString()}; why: its run in monitor_runs, and npx pam inspect failed`,
    }))
}

function queuesWithoutWorkers(snapshot: OperationsSnapshot): FiringCondition[] {
  return Object.entries(snapshot.workersPerQueue)
    .filter(([, live]) => live === 0)
    .map(([queue]) => ({
      key: `queue_without_worker:${queue}`,
      kind: 'queue_without_worker',
      summary: `no live worker consumes queue ${queue}: its jobs wait`,
    }))
}

function missedSchedules(snapshot: OperationsSnapshot): FiringCondition[] {
  return snapshot.schedules.flatMap((schedule) => {
    const since = schedule.lastRunAt ?? snapshot.watchingSince
    const late = snapshot.now.getTime() - since.getTime()
    if (late <= 2 * schedule.cadenceMs + SCHEDULE_SLACK_MS) return []
    const last = schedule.lastRunAt ? `last ran ${schedule.lastRunAt.toISOString()}` : 'has not run since checks began'
    return [
      {
        key: `schedule_missed:${schedule.schedule}`,
        kind: 'schedule_missed' as const,
        summary: `schedule ${schedule.schedule} missed its runs: it ${last}, and runs every ${schedule.cadenceMs >= 60_000 ? minutes(schedule.cadenceMs) : `${schedule.cadenceMs / 1000} s`}`,
      },
    ]
  })
}

function failingProviders(snapshot: OperationsSnapshot, thresholds: Thresholds): FiringCondition[] {
  return snapshot.providers.flatMap(({ provider, succeeded, failed }) => {
    const total = succeeded + failed
    if (total < MIN_PROVIDER_LOOKUPS || failed / total < thresholds.providerFailureRatio) return []
    return [
      {
        key: `provider_failing:${provider}`,
        kind: 'provider_failing' as const,
        summary: `the ${provider} provider failed ${failed} of ${total} lookups (${percent(failed / total)}) in the last ${minutes(PROVIDER_WINDOW_MS)}`,
      },
    ]
  })
}

function aiBudget(snapshot: OperationsSnapshot): FiringCondition[] {
  const budget = snapshot.aiBudget
  if (!budget || budget.limit <= 0 || budget.spent / budget.limit < AI_BUDGET_WARN_RATIO) return []
  return [
    {
      key: 'ai_budget',
      kind: 'ai_budget',
      summary: `${percent(budget.spent / budget.limit)} of today's AI budget is spent (${budget.spent.toFixed(2)} of ${budget.limit.toFixed(2)})`,
    },
  ]
}

/** Every condition that holds in `snapshot`. */
export function firingConditions(snapshot: OperationsSnapshot, thresholds: Thresholds): FiringCondition[] {
  return [
    ...snapshot.unavailable.map(storeUnavailable),
    ...failedJobs(snapshot),
    ...unhealthySweeps(snapshot),
    ...queuesWithoutWorkers(snapshot),
    ...missedSchedules(snapshot),
    ...failingProviders(snapshot, thresholds),
    ...aiBudget(snapshot),
  ]
}
