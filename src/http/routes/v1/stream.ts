import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { alertFilter, alerts } from '../../../alerts/alert-repository.js'
import type { Db } from '../../../db/database.js'
import type { Hub } from '../../../realtime/hub.js'
import { Time, v1Schema } from '../../schemas.js'

const REPLAY_LIMIT = 200

// Clients send nothing on this stream: anything bigger than a small frame is refused (ws: 1009).
export const MAX_CLIENT_MESSAGE_BYTES = 4 * 1024

/**
 * `GET /v1/stream`: the user's alerts, live. Authenticated before the upgrade by the /v1 hooks;
 * `?since=` first replays the open alerts created after that time, so a reconnecting client
 * misses nothing (it may see an alert twice across reconnects: alerts carry their id). The hub
 * (its sockets, fed from the bus) belongs to the API process: this route only hands it sockets.
 */
export const streamRoutes: FastifyPluginAsyncTypebox<{ db: Db; hub: Hub }> = async (app, { db, hub }) => {
  app.route({
    method: 'GET',
    url: '/v1/stream',
    schema: {
      // As @fastify/websocket does for its routes: OpenAPI cannot describe a WebSocket.
      hide: true,
      ...v1Schema({
        summary:
          'WebSocket: {"type":"hello"}, then {"type":"alert.created","alert"}, {"type":"alert.updated","alert"}, ' +
          '{"type":"alert.resolved","alertId"} and {"type":"alert.expired","alertId"}. ' +
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
      const { since } = request.query
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
