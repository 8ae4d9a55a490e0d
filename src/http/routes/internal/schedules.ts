import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import { type Queues, scheduledJobs } from '../../../jobs/inspection.js'
import type { InternalAuth } from '../../plugins/internal-auth.js'
import { ErrorBody } from '../../schemas.js'

const Schedules = Type.Object({
  schedules: Type.Array(
    Type.Object({
      id: Type.String(),
      queue: Type.String(),
      task: Type.String(),
      cadence: Type.String(),
      tz: Type.String(),
      nextRunAt: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
})

/** The job schedulers BullMQ holds, with their next run: what `pam verify` and operators check. */
export function scheduleRoutes(deps: { queues: Queues; internalAuth: InternalAuth }) {
  return async (app: FastifyInstance) => {
    app.get(
      '/internal/schedules',
      {
        onRequest: deps.internalAuth,
        schema: {
          tags: ['operations'],
          security: [{ internalToken: [] }],
          response: { 200: Schedules, 401: ErrorBody },
        },
      },
      async () => ({ schedules: await scheduledJobs(deps.queues) }),
    )
  }
}
