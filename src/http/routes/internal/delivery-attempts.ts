import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { deliveriesInStatus } from '../../../delivery/delivery-repository.js'
import type { Db } from '../../../platform/db/database.js'
import type { InternalAuth } from '../../plugins/internal-auth.js'
import { ErrorBody } from '../../schemas.js'
import { Delivery } from '../v1/deliveries.js'

/** For operators: which deliveries failed (or wait, or were suppressed) and why. */
export const internalDeliveryRoutes: FastifyPluginAsyncTypebox<{ db: Db; internalAuth: InternalAuth }> = async (
  app,
  deps,
) => {
  app.get(
    '/internal/deliveries',
    {
      onRequest: deps.internalAuth,
      schema: {
        tags: ['operations'],
        security: [{ internalToken: [] }],
        querystring: Type.Object({
          status: Type.Enum(['queued', 'sending', 'sent', 'deferred', 'suppressed', 'failed'], { default: 'failed' }),
          limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
        }),
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                ...Delivery.properties,
                alertId: Type.String(),
                userId: Type.String(),
                updatedAt: Type.String(),
              }),
            ),
          }),
          401: ErrorBody,
        },
      },
    },
    async (request) => {
      const { status, limit } = request.query
      return { items: await deliveriesInStatus(deps.db, status, limit) }
    },
  )
}
