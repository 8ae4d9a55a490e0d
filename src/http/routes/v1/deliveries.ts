import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { deliveriesOf } from '../../../delivery/delivery-repository.js'
import type { Db } from '../../../platform/db/database.js'
import { IdParams, NullableTime, v1Schema } from '../../schemas.js'
import { notFound } from './crud.js'

export const Delivery = Type.Object({
  channel: Type.Enum(['email', 'push']),
  status: Type.Enum(['queued', 'sent', 'deferred', 'suppressed', 'failed']),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'why deferred or suppressed' }),
  attempts: Type.Integer(),
  sentAt: NullableTime('sent (alone, or in a digest)'),
  deferredUntil: NullableTime('deferred: the end of quiet hours it waits for'),
  error: Type.Union([Type.String(), Type.Null()], { description: 'the last send error' }),
  inDoubt: Type.Boolean({
    description:
      'an attempt’s worker stopped before it could record what it did, and another took the delivery over: that attempt may have sent it (so it may have reached you although the status says otherwise, or twice)',
  }),
})

export const deliveryRoutes: FastifyPluginAsyncTypebox<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/v1/alerts/:id/deliveries',
    {
      schema: v1Schema({
        summary: 'how an alert reached you: per channel, sent, deferred to quiet hours end, or why not',
        tags: ['alerts'],
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(Delivery) }) },
      }),
    },
    async (request) => {
      const { id } = request.params
      const items = await deliveriesOf(db, request.userId, id)
      if (!items) throw notFound('alert')
      return { items }
    },
  )
}
