import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { type ChangesPage, changesOf, readFrom } from '../../../monitoring/alerts/alert-changes.js'
import type { AlertEvent } from '../../../monitoring/alerts/alert-store.js'
import type { Db } from '../../../platform/db/database.js'
import { Time, v1Schema } from '../../schemas.js'
import type { Hub } from '../../stream/hub.js'

const REPLAY_PAGE = 200

// Clients send nothing on this stream: anything bigger than a small frame is refused (ws: 1009).
export const MAX_CLIENT_MESSAGE_BYTES = 4 * 1024

/** Every change of the traveller's alerts after `since` (read from the margin before it), page by page. */
async function* replay(db: Db, userId: string, since: Date): AsyncIterable<AlertEvent[]> {
  const from = readFrom(since)
  let after: ChangesPage['next'] = null
  do {
    const page = await changesOf(db, userId, from, after, REPLAY_PAGE)
    yield page.events
    after = page.next
  } while (after)
}

/**
 * `GET /v1/stream`: the user's alerts, live. Authenticated before the upgrade by the /v1 hooks.
 * `?since=` (the `changedAt` of the last event the client holds) first replays every change after
 * that time — made, rewritten, read, dismissed, resolved, expired — each alert once, as it is now,
 * so a reconnecting client misses nothing; events carry the change's `version`, and a client
 * drops one no newer than the copy it has (the replay reads from a margin before `since`). Once
 * attached, the socket gets every change: from the bus, and what the bus lost read back from
 * PostgreSQL by the hub (stream/catch-up.ts). The hub belongs to the API process: this route
 * only hands it sockets.
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
          '{"type":"alert.resolved","alertId"} and {"type":"alert.expired","alertId"}, each with the change\'s ' +
          '"version" (drop an event no newer than your copy of its alert) and "changedAt" (server time). ' +
          'Token in the Authorization header or ?access_token=.',
        tags: ['alerts'],
        querystring: Type.Object({
          since: Type.Optional(
            Time('first replay every change after this time: the changedAt of the last event you hold (docs/api.md)'),
          ),
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
      void hub.attach(userId, socket, () => (since ? replay(db, userId, new Date(since)) : []), request.tokenExpiresAt)
    },
  })
}
