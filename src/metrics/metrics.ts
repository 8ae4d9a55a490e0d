import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

export type JobOutcome = 'completed' | 'skipped' | 'retried' | 'failed'

/**
 * One registry per process, built by the composition root (no prom-client globals). Labels are
 * bounded sets (method, route pattern, status, queue, task, state): never a user id.
 */
export function createMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'pam_' })
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
    workersAlive: new Gauge({
      name: 'pam_workers_alive',
      help: 'Workers with a heartbeat in the last 30 s, by queue, read when scraped',
      labelNames: ['queue'] as const,
      registers: [registry],
    }),
  }
}

export type Metrics = ReturnType<typeof createMetrics>
