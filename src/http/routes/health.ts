import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import { checkReadiness, recentReadiness } from '../../operations/health/readiness.js'
import type { QueueBackend } from '../../platform/backend/backend.js'
import type { Db } from '../../platform/db/database.js'
import { liveProcesses } from '../../platform/heartbeats/heartbeat-repository.js'
import { VERSION } from '../../platform/version.js'
import type { InternalAuth } from '../plugins/internal-auth.js'
import { ErrorBody } from '../schemas.js'

const SERVICE = 'pam-api'
/** Fresh for a load balancer's few polls a second; at most 10 checks a second under any number of pollers. */
const READINESS_POLLING = { maxAgeMs: 1_000, freshPerSecond: 10 }

const Health = Type.Object({
  status: Type.Literal('healthy'),
  timestamp: Type.String({ format: 'date-time' }),
  service: Type.String(),
  version: Type.String(),
})

const COMPONENTS = ['database', 'redis', 'workers'] as const
const componentList = `(${COMPONENTS.join('|')})`
/**
 * As Kubernetes' own /readyz?exclude=: a probe names the components that are not this process's
 * to answer for. An API pod's readiness leaves out the workers (another role's outage, alerted on
 * by operator alerts) and Redis (writes are still accepted without it), or one outage there would
 * take every API pod out of rotation.
 */
const ReadyQuery = Type.Object({
  exclude: Type.Optional(
    Type.String({
      pattern: `^${componentList}(,${componentList})*$`,
      description: `comma-separated components left out of \`ready\` (${COMPONENTS.join(', ')}); they are still reported`,
    }),
  ),
})

const Ready = Type.Object({
  ready: Type.Boolean({ description: 'every component not excluded is up' }),
  components: Type.Object({
    database: Type.Boolean({ description: 'reachable, with the schema this process needs' }),
    redis: Type.Union([Type.Boolean(), Type.Null()], { description: 'null in Postgres-only mode' }),
    workers: Type.Boolean({ description: 'at least one live worker per queue' }),
  }),
  queues_without_workers: Type.Array(Type.String()),
  timestamp: Type.String({ format: 'date-time', description: 'when the dependencies were checked (at most 1 s ago)' }),
  duration_ms: Type.Number(),
  service: Type.String(),
})

const Heartbeats = Type.Object({
  workers: Type.Array(
    Type.Object({
      id: Type.String(),
      role: Type.String(),
      host: Type.String(),
      pid: Type.Integer(),
      queues: Type.Array(Type.String()),
      concurrency: Type.Integer(),
      startedAt: Type.String({ format: 'date-time' }),
      lastBeatAt: Type.String({ format: 'date-time' }),
    }),
  ),
  timestamp: Type.String({ format: 'date-time' }),
})

/** Liveness: the process answers; no dependency touched. Every role that listens serves it. */
export function livenessRoutes(service: string) {
  return async (fastify: FastifyInstance) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    const health = async () => ({
      status: 'healthy' as const,
      timestamp: new Date().toISOString(),
      service,
      version: VERSION,
    })
    for (const url of ['/health', '/api/health']) {
      app.get(url, { schema: { tags: ['operations'], response: { 200: Health } } }, health)
    }
  }
}

/** Liveness, readiness (every dependency, bounded) and live workers. */
export function healthRoutes(deps: {
  db: Db
  backend: QueueBackend
  internalAuth: InternalAuth
  storeReady?: () => boolean
}) {
  return async (fastify: FastifyInstance) => {
    await fastify.register(livenessRoutes(SERVICE))
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    const readiness = recentReadiness(() => checkReadiness(deps), READINESS_POLLING)

    app.get(
      '/ready',
      {
        schema: { tags: ['operations'], querystring: ReadyQuery, response: { 200: Ready, 400: ErrorBody, 503: Ready } },
      },
      async (request, reply) => {
        const result = await readiness()
        const excluded = new Set(request.query.exclude?.split(','))
        const ready = Object.entries(result.components).every(([name, up]) => excluded.has(name) || up !== false)
        return reply.code(ready ? 200 : 503).send({
          ready,
          components: result.components,
          queues_without_workers: result.queuesWithoutWorkers,
          timestamp: result.checkedAt.toISOString(),
          duration_ms: result.durationMs,
          service: SERVICE,
        })
      },
    )

    app.get(
      '/internal/worker/heartbeat',
      {
        onRequest: deps.internalAuth,
        schema: {
          tags: ['operations'],
          security: [{ internalToken: [] }],
          response: { 200: Heartbeats, 401: ErrorBody },
        },
      },
      async () => {
        const live = await liveProcesses(deps.db)
        return {
          workers: live.map((p) => ({
            ...p,
            startedAt: p.startedAt.toISOString(),
            lastBeatAt: p.lastBeatAt.toISOString(),
          })),
          timestamp: new Date().toISOString(),
        }
      },
    )
  }
}
