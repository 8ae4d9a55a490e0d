import type { FastifyInstance } from 'fastify'
import type { Db } from '../../db/database.js'
import { liveProcesses } from '../../heartbeats/heartbeat-repository.js'
import { type Queues, queueCounts } from '../../jobs/inspection.js'
import { QUEUE_NAMES } from '../../jobs/queues.js'
import type { Metrics } from '../../metrics/metrics.js'
import { requireInternalToken } from '../plugins/internal-auth.js'

/**
 * Prometheus text at /metrics (internal token). Queue depths and live workers are read from the
 * stores at scrape time, so any API replica reports the whole deployment's figures for them.
 */
export function metricsRoutes(deps: { db: Db; queues: Queues; metrics: Metrics; internalToken: string }) {
  const { metrics } = deps
  return async (app: FastifyInstance) => {
    app.get('/metrics', { preHandler: requireInternalToken(deps.internalToken) }, async (request, reply) => {
      const [counts, live] = await Promise.all([
        queueCounts(deps.queues).catch((error) => {
          request.log.warn({ err: (error as Error).message }, 'queue counts unavailable for /metrics')
          return []
        }),
        liveProcesses(deps.db).catch(() => undefined),
      ])
      metrics.queueJobs.reset()
      for (const { queue, counts: byState } of counts) {
        for (const [state, count] of Object.entries(byState)) metrics.queueJobs.set({ queue, state }, count)
      }
      metrics.workersAlive.reset()
      if (live) {
        for (const queue of QUEUE_NAMES) {
          metrics.workersAlive.set(
            { queue },
            live.filter((p) => p.role === 'worker' && p.queues.includes(queue)).length,
          )
        }
      }
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics())
    })
  }
}
