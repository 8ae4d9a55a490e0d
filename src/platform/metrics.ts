import type { Redis } from 'ioredis'
import type pg from 'pg'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

export type JobOutcome = 'completed' | 'skipped' | 'retried' | 'failed'
export type AlertChange = 'created' | 'resolved' | 'expired' | 'updated'
export type MonitorRunOutcome = 'ok' | 'degraded' | 'failed'

/** What some figures are read from when scraped: this process's pool, and Redis in Redis mode. */
export interface MetricSources {
  pool?: Pick<pg.Pool, 'totalCount' | 'idleCount' | 'waitingCount'>
  redis?: Pick<Redis, 'info'>
}

// INFO is cheap but every replica is scraped: one read per few seconds per process is plenty.
const REDIS_INFO_TTL_MS = 5_000

/** `used_memory` and `maxmemory` from Redis's INFO memory text (maxmemory 0: no limit). */
export function redisMemory(info: string): { used: number; max: number } | undefined {
  const field = (name: string) => {
    const match = new RegExp(`^${name}:(\\d+)\\s*$`, 'm').exec(info)
    return match ? Number(match[1]) : undefined
  }
  const used = field('used_memory')
  const max = field('maxmemory')
  return used === undefined || max === undefined ? undefined : { used, max }
}

/** Redis's memory figures, read at most once per REDIS_INFO_TTL_MS; undefined while Redis does not answer. */
function cachedRedisMemory(redis: Pick<Redis, 'info'>) {
  let read: { at: number; value: Promise<{ used: number; max: number } | undefined> } | undefined
  return () => {
    if (!read || Date.now() - read.at > REDIS_INFO_TTL_MS) {
      read = {
        at: Date.now(),
        value: redis.info('memory').then(redisMemory, () => undefined),
      }
    }
    return read.value
  }
}

/**
 * How often the event loop's delay is sampled (pam_nodejs_eventloop_lag_*). prom-client's 10 ms
 * woke every process 100 times a second for it alone, nearly half of what an idle API or worker
 * spent (4.7–5.2 ms of CPU a second, 2.5–3.0 at 100 ms). A stall longer than this is always seen
 * (less at most this much); a shorter one when it spans a sample.
 */
const EVENT_LOOP_SAMPLE_MS = 100

/**
 * One registry per process, built by the composition root (no prom-client globals). Labels are
 * bounded sets (method, route pattern, status, queue, task, state): never a user id.
 */
export function createMetrics(sources: MetricSources = {}) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'pam_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS })
  const { pool, redis } = sources
  // Registered whatever the sources, so every process exports the same families (the dashboard
  // test reads them from a bare registry). Without a pool the pool has no sample; without Redis
  // (Postgres-only mode) its figures stay at prom-client's 0 for an unlabelled gauge.
  new Gauge({
    name: 'pam_db_pool_connections',
    help: "This process's PostgreSQL pool: connections open (total), idle, and queries waiting for one",
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      if (!pool) return
      this.set({ state: 'total' }, pool.totalCount)
      this.set({ state: 'idle' }, pool.idleCount)
      this.set({ state: 'waiting' }, pool.waitingCount)
    },
  })
  const memory = redis ? cachedRedisMemory(redis) : async () => undefined
  new Gauge({
    name: 'pam_redis_memory_used_bytes',
    help: "Redis's used_memory (INFO memory), read when scraped; Redis mode only",
    registers: [registry],
    async collect() {
      const figures = await memory()
      if (figures) this.set(figures.used)
    },
  })
  new Gauge({
    name: 'pam_redis_memory_max_bytes',
    help: "Redis's maxmemory (0: no limit), read when scraped; Redis mode only",
    registers: [registry],
    async collect() {
      const figures = await memory()
      if (figures) this.set(figures.max)
    },
  })
  return {
    registry,
    httpDuration: new Histogram({
      name: 'pam_http_request_duration_seconds',
      help: 'HTTP request duration by method, route pattern and status code',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    jobs: new Counter({
      name: 'pam_jobs_total',
      help: 'Jobs finished by this process, by queue, task and outcome',
      labelNames: ['queue', 'task', 'outcome'] as const,
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: 'pam_job_duration_seconds',
      help: 'Time from a job starting to finishing, by queue and task',
      labelNames: ['queue', 'task'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
      registers: [registry],
    }),
    queueJobs: new Gauge({
      name: 'pam_queue_jobs',
      help: 'Jobs in each queue by state, read when scraped',
      labelNames: ['queue', 'state'] as const,
      registers: [registry],
    }),
    providerFailures: new Counter({
      name: 'pam_provider_failures_total',
      help: 'Requests to a third-party provider that failed after their retries, by provider',
      labelNames: ['provider'] as const,
      registers: [registry],
    }),
    jobsFailedFinal: new Counter({
      name: 'pam_jobs_failed_final_total',
      help: 'Jobs that failed for good (no retry left) in this process, by queue and task',
      labelNames: ['queue', 'task'] as const,
      registers: [registry],
    }),
    monitorRuns: new Counter({
      name: 'pam_monitor_runs_total',
      help: 'Sweeps finished in this process, by monitor and outcome (ok, degraded: a provider was down, failed)',
      labelNames: ['monitor', 'outcome'] as const,
      registers: [registry],
    }),
    alertsChanged: new Counter({
      name: 'pam_alerts_changed_total',
      help: 'Alert changes made by this process, by alert kind and change (created, resolved, expired, updated)',
      labelNames: ['kind', 'change'] as const,
      registers: [registry],
    }),
    writeToAlert: new Histogram({
      name: 'pam_write_to_alert_seconds',
      help: "Time from the write an evaluation read (the data's observed or written time) to the alert it created",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers: [registry],
    }),
    scheduleLastRun: new Gauge({
      name: 'pam_schedule_last_run_timestamp_seconds',
      help: 'When each schedule last ran (its job started), Unix seconds, read when scraped',
      labelNames: ['schedule'] as const,
      registers: [registry],
    }),
    scheduleCadence: new Gauge({
      name: 'pam_schedule_cadence_seconds',
      help: 'How often each schedule is due (its configured pattern), seconds: PamScheduleMissed compares the last run with it',
      labelNames: ['schedule'] as const,
      registers: [registry],
    }),
    aiCalls: new Counter({
      name: 'pam_ai_calls_total',
      help: 'Model calls by provider, configured model and outcome (refused_* calls were not made: a budget said no)',
      labelNames: ['provider', 'model', 'outcome'] as const,
      registers: [registry],
    }),
    aiCost: new Counter({
      name: 'pam_ai_cost_usd_total',
      help: 'Settled cost of model calls in US dollars, by provider and configured model',
      labelNames: ['provider', 'model'] as const,
      registers: [registry],
    }),
    aiBudgetSpent: new Gauge({
      name: 'pam_ai_budget_spent_ratio',
      help: "Today's (UTC) AI spend, settled and reserved, as a share of AI_DAILY_BUDGET_USD, read when scraped",
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'pam_deliveries_total',
      help: 'Alert deliveries decided by this process, by channel (email, push) and outcome (sent, deferred, suppressed, failed, retried, digest)',
      labelNames: ['channel', 'outcome'] as const,
      registers: [registry],
    }),
    workersAlive: new Gauge({
      name: 'pam_workers_alive',
      help: 'Workers with a heartbeat in the last 30 s, by queue, read when scraped',
      labelNames: ['queue'] as const,
      registers: [registry],
    }),
  }
}

export type Metrics = ReturnType<typeof createMetrics>

/** The alert store's observer (AlertChangeObserver): each committed change, counted by kind. */
export const countAlertChanges = (metrics: Metrics) => (change: AlertChange, kind: string) =>
  metrics.alertsChanged.inc({ kind, change })

/** What the monitor tasks report (MonitorObservers), into this process's metrics. */
export const monitorObservers = (metrics: Metrics) => ({
  alertChanged: countAlertChanges(metrics),
  writeToAlert: (seconds: number) => metrics.writeToAlert.observe(seconds),
  sweepFinished: (monitor: string, outcome: MonitorRunOutcome) => metrics.monitorRuns.inc({ monitor, outcome }),
})
