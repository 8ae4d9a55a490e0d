import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import { type Queues, queueBacklog } from '../../../jobs/inspection.js'
import { QUEUE_NAMES } from '../../../platform/backend/queue-names.js'
import type { InternalAuth } from '../../plugins/internal-auth.js'
import { ErrorBody } from '../../schemas.js'

const Backlog = Type.Object({
  backlog: Type.Integer({ description: 'waiting + prioritized + dueDelayed: the figure to scale workers on' }),
  waiting: Type.Integer({ description: "jobs in BullMQ's wait list" }),
  prioritized: Type.Integer({ description: 'jobs with a priority, waiting their turn (every PAM job has one)' }),
  dueDelayed: Type.Integer({ description: 'delayed jobs (retries, schedule runs) whose time has come' }),
})

const QueueBacklogs = Type.Object({
  queues: Type.Object(Object.fromEntries(QUEUE_NAMES.map((queue) => [queue, Backlog]))),
  timestamp: Type.String({ format: 'date-time', description: 'when the queues were counted' }),
})

/**
 * The jobs waiting per queue, for an autoscaler: KEDA's `metrics-api` scaler reads one queue's
 * `queues.<name>.backlog` (valueLocation) with the internal token as its bearer. Read from the
 * queue store at request time, so any API replica answers for the whole deployment, in either mode.
 */
export function queueBacklogRoutes(deps: { queues: Queues; internalAuth: InternalAuth }) {
  return async (fastify: FastifyInstance) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.get(
      '/internal/queue-backlog',
      {
        onRequest: deps.internalAuth,
        schema: {
          tags: ['operations'],
          security: [{ internalToken: [] }],
          response: { 200: QueueBacklogs, 401: ErrorBody, 503: ErrorBody },
        },
      },
      async () => {
        const counted = await queueBacklog(deps.queues)
        return {
          queues: Object.fromEntries(counted.map(({ queue, ...figures }) => [queue, figures])),
          timestamp: new Date().toISOString(),
        }
      },
    )
  }
}
