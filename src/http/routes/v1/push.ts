import { lookup as dnsLookup } from 'node:dns'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import {
  endpointProblem,
  type Lookup,
  PrivateAddressError,
  resolvePublic,
} from '../../../delivery/channels/push-endpoint.js'
import {
  deletePushSubscription,
  pushSubscriptionsOf,
  savePushSubscription,
} from '../../../delivery/push-subscription-repository.js'
import type { Db } from '../../../platform/db/database.js'
import { HttpError } from '../../errors.js'
import { IdParams, Time, Uuid, v1Schema } from '../../schemas.js'
import { notFound, refuseIfAny } from './crud.js'
import { Body } from './fields.js'

/** A browser keeps a handful of subscriptions per traveller; more is a client stuck in a loop. */
export const MAX_PUSH_SUBSCRIPTIONS = 20

const Base64Url = (description: string, maxLength: number) =>
  Type.String({ pattern: '^[A-Za-z0-9_-]+=*$', minLength: 8, maxLength, description: `${description} (base64url)` })

/** How long subscribing waits for DNS before it leaves the address check to the send. */
const RESOLVE_TIMEOUT_MS = 3_000

export interface PushRouteDeps {
  db: Db
  vapidPublicKey: string | undefined
  /** PUSH_ALLOW_PRIVATE_ENDPOINTS (tests with a local push service; refused in production). */
  allowPrivateEndpoints: boolean
  /** The resolver the endpoint's host is checked with (default: the system's). */
  lookup?: Lookup
}

/**
 * What is wrong with an endpoint, or undefined: its text (a public HTTPS host on port 443, no
 * credentials), then what its name resolves to now. A name that does not resolve is refused; a
 * resolver that does not answer in time leaves the check to the send, which makes it again on
 * the address it connects to.
 */
async function endpointRefusal(endpoint: string, deps: PushRouteDeps): Promise<string | undefined> {
  const problem = endpointProblem(endpoint, deps.allowPrivateEndpoints)
  if (problem || deps.allowPrivateEndpoints) return problem
  const host = new URL(endpoint).hostname
  const resolved = resolvePublic(host, deps.lookup ?? dnsLookup, false).then(() => undefined)
  const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), RESOLVE_TIMEOUT_MS).unref())
  return Promise.race([resolved, timeout]).catch((error: { code?: string }) => {
    if (error instanceof PrivateAddressError) return 'must be a push service on the public internet'
    return error.code === 'ENOTFOUND' || error.code === 'ENODATA' ? 'names a host that does not resolve' : undefined
  })
}

const Subscription = Type.Object({
  id: Uuid('subscription id'),
  endpoint: Type.String(),
  keys: Type.Object({ p256dh: Type.String(), auth: Type.String() }),
  createdAt: Time('subscribed'),
})

export const pushRoutes: FastifyPluginAsyncTypebox<PushRouteDeps> = async (app, deps) => {
  const { db, vapidPublicKey } = deps
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
              description:
                "the push service's URL: https on port 443 of a public host (never an address, a private or local name, or credentials)",
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
      const refusal = await endpointRefusal(body.endpoint, deps)
      refuseIfAny(refusal ? [{ field: 'endpoint', problem: refusal }] : [])
      const existing = await pushSubscriptionsOf(db, request.userId)
      if (
        existing.length >= MAX_PUSH_SUBSCRIPTIONS &&
        !existing.some((subscription) => subscription.endpoint === body.endpoint)
      ) {
        throw new HttpError(409, 'conflict', `at most ${MAX_PUSH_SUBSCRIPTIONS} push subscriptions; delete one first`)
      }
      const saved = await savePushSubscription(db, request.userId, body)
      // An endpoint is one browser profile: it stays with whoever subscribed it first until they delete it.
      if (!saved) throw new HttpError(409, 'conflict', 'this endpoint is subscribed by another account')
      return reply.code(201).send(saved)
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
