import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import type { Db } from '../../../db/database.js'
import {
  deletePushSubscription,
  pushSubscriptionsOf,
  savePushSubscription,
} from '../../../notifications/push-subscription-repository.js'
import { HttpError } from '../../errors.js'
import { IdParams, Time, Uuid, v1Schema } from '../../schemas.js'
import { notFound } from './crud.js'
import { Body } from './fields.js'

/** A browser keeps a handful of subscriptions per traveller; more is a client stuck in a loop. */
export const MAX_PUSH_SUBSCRIPTIONS = 20

const Base64Url = (description: string, maxLength: number) =>
  Type.String({ pattern: '^[A-Za-z0-9_-]+=*$', minLength: 8, maxLength, description: `${description} (base64url)` })

const Subscription = Type.Object({
  id: Uuid('subscription id'),
  endpoint: Type.String(),
  keys: Type.Object({ p256dh: Type.String(), auth: Type.String() }),
  createdAt: Time('subscribed'),
})

export const pushRoutes: FastifyPluginAsyncTypebox<{ db: Db; vapidPublicKey: string | undefined }> = async (
  app,
  { db, vapidPublicKey },
) => {
  const pushOff = () =>
    new HttpError(503, 'unavailable', 'Web Push is not configured here (VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY)')
  app.get(
    '/v1/push/vapid-public-key',
    {
      schema: v1Schema({
        summary: "the server's VAPID public key, for PushManager.subscribe({applicationServerKey})",
        tags: ['push'],
        response: { 200: Type.Object({ publicKey: Type.String() }) },
      }),
    },
    async () => {
      if (!vapidPublicKey) throw pushOff()
      return { publicKey: vapidPublicKey }
    },
  )
  app.post(
    '/v1/push-subscriptions',
    {
      schema: v1Schema({
        summary: 'subscribe this browser to pushes: the PushSubscription as the browser gives it (toJSON())',
        tags: ['push'],
        body: Type.Object(
          {
            endpoint: Type.String({
              format: 'uri',
              pattern: '^https://',
              maxLength: 2000,
              description: "the push service's URL",
            }),
            expirationTime: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
            keys: Body({ p256dh: Base64Url('the P-256 public key', 200), auth: Base64Url('the auth secret', 100) }),
          },
          { additionalProperties: false, maxProperties: 3 },
        ),
        response: { 201: Subscription },
      }),
    },
    async (request, reply) => {
      if (!vapidPublicKey) throw pushOff()
      const { body } = request
      const existing = await pushSubscriptionsOf(db, request.userId)
      if (
        existing.length >= MAX_PUSH_SUBSCRIPTIONS &&
        !existing.some((subscription) => subscription.endpoint === body.endpoint)
      ) {
        throw new HttpError(409, 'conflict', `at most ${MAX_PUSH_SUBSCRIPTIONS} push subscriptions; delete one first`)
      }
      return reply.code(201).send(await savePushSubscription(db, request.userId, body))
    },
  )
  app.delete(
    '/v1/push-subscriptions/:id',
    {
      schema: v1Schema({
        summary: 'unsubscribe a browser',
        tags: ['push'],
        params: IdParams,
        response: { 204: Type.Null({ description: 'deleted' }) },
      }),
    },
    async (request, reply) => {
      const { id } = request.params
      if (!(await deletePushSubscription(db, request.userId, id))) throw notFound('push subscription')
      return reply.code(204).send(null)
    },
  )
}
