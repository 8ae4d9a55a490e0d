import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import { alertFilter, alerts } from '../../../alerts/alert-repository.js'
import { ALERT_CHANNEL, type AlertEvent } from '../../../alerts/alert-store.js'
import type { Bus } from '../../../backend/backend.js'
import type { Db } from '../../../db/database.js'
import type { Logger } from '../../../logger.js'
import { createHub } from '../../../realtime/hub.js'
import { Time, v1Schema } from '../../schemas.js'

const MAX_BUFFERED_BYTES = 1024 * 1024
const PING_INTERVAL_MS = 30_000
const REPLAY_LIMIT = 200

export interface StreamDeps {
  db: Db
  bus: Bus
  logger: Logger
  /** STREAM_MAX_SOCKETS_PER_USER: per user, in this API process. */
  maxSocketsPerUser: number
}

// Clients send nothing on this stream; a few messages (a keep-alive of their own) are tolerated.
const MAX_CLIENT_MESSAGES_PER_MINUTE = 30

// Clients send nothing on this stream: anything bigger than a small frame is refused (ws: 1009).
export const MAX_CLIENT_MESSAGE_BYTES = 4 * 1024

/**
 * `GET /v1/stream`: the user's alerts, live. Authenticated before the upgrade by the /v1 hooks;
 * `?since=` first replays the open alerts created after that time, so a reconnecting client
 * misses nothing (it may see an alert twice across reconnects: alerts carry their id).
 */
export function streamRoutes(deps: StreamDeps) {
  const { db } = deps
  return async (app: FastifyInstance) => {
    const hub = createHub({
      logger: deps.logger,
      maxBufferedBytes: MAX_BUFFERED_BYTES,
      pingIntervalMs: PING_INTERVAL_MS,
      maxSocketsPerUser: deps.maxSocketsPerUser,
      maxClientMessagesPerMinute: MAX_CLIENT_MESSAGES_PER_MINUTE,
    })
    // Not awaited: with the store down the API must still start (and say so on /ready); the
    // bus listens as soon as its connection is up, and keeps listening across reconnects.
    let unsubscribe: (() => Promise<void>) | undefined
    deps.bus
      .subscribe(ALERT_CHANNEL, (event) => hub.deliver(event as AlertEvent))
      .then(
        (stop) => {
          unsubscribe = stop
        },
        (error) => deps.logger.warn({ err: (error as Error).message }, 'alert stream not subscribed to the bus yet'),
      )
    app.addHook('preClose', async () => {
      hub.close()
      await unsubscribe?.()
    })

    app.route({
      method: 'GET',
      url: '/v1/stream',
      schema: {
        // As @fastify/websocket does for its routes: OpenAPI cannot describe a WebSocket.
        hide: true,
        ...v1Schema({
          summary:
            'WebSocket: {"type":"hello"}, then {"type":"alert.created","alert"} and {"type":"alert.resolved","alertId"}. ' +
            'Token in the Authorization header or ?access_token=.',
          tags: ['alerts'],
          querystring: Type.Object({
            since: Type.Optional(Time('first send the open alerts created after this time')),
            access_token: Type.Optional(
              Type.String({ description: 'for browsers, which cannot set headers on a WebSocket' }),
            ),
          }),
          response: {},
        }),
      },
      // A plain GET (no Upgrade header) is told what this endpoint needs, in the error shape.
      handler: async (_request, reply) =>
        reply.code(426).header('upgrade', 'websocket').send({
          error: 'upgrade_required',
          message: 'this endpoint is a WebSocket: connect with Upgrade: websocket',
        }),
      wsHandler: (socket, request) => {
        const { since } = request.query as { since?: string }
        const userId = request.userId
        void hub.attach(
          userId,
          socket,
          async () => {
            if (!since) return []
            const page = await alerts.page(db, userId, { limit: REPLAY_LIMIT }, alertFilter({ status: 'open', since }))
            return page.rows.reverse().map((alert) => ({ type: 'alert.created' as const, userId, alert }))
          },
          request.tokenExpiresAt,
        )
      },
    })
  }
}
