import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { alertFilter, alerts } from '../../../monitoring/alerts/alert-repository.js'
import { announceAlertEvents, markAlert, markAllRead } from '../../../monitoring/alerts/alert-store.js'
import { alertKinds } from '../../../monitoring/registry.js'
import type { Bus } from '../../../platform/backend/backend.js'
import type { Db } from '../../../platform/db/database.js'
import { ListOf, listBody, PageQuery, pageRequest } from '../../pagination.js'
import { IdParams, NullableTime, Time, Uuid, v1Schema } from '../../schemas.js'
import { notFound } from './crud.js'

/** An alert as the API shows it; `kinds` are the registered monitors' (registry order). */
export const alertSchema = (kinds: string[]) =>
  Type.Object({
    id: Uuid('alert id'),
    kind: Type.Enum(kinds),
    priority: Type.Enum(['low', 'medium', 'high', 'urgent']),
    title: Type.String(),
    body: Type.String(),
    data: Type.Record(Type.String(), Type.Unknown(), {
      description: 'what the rule read: threshold, observedAt, ruleVersion, and per-kind fields (API.md)',
    }),
    createdAt: Time('created'),
    expiresAt: NullableTime('expires'),
    readAt: NullableTime('read'),
    dismissedAt: NullableTime('dismissed'),
    resolvedAt: NullableTime('resolved: the condition cleared'),
    textSource: Type.String({
      description: '"template", or the model that rewrote title and body (sent as alert.updated after the template)',
    }),
    version: Type.Integer({
      minimum: 1,
      description: 'grows with every change of the alert: of two copies, the one with the higher version is newer',
    }),
    changedAt: Time('when the latest change was made (server time); /v1/stream takes it as since'),
  })

export const alertRoutes: FastifyPluginAsyncTypebox<{ db: Db; bus: Bus }> = async (app, { db, bus }) => {
  // Read when the app is built, after every monitor is registered.
  const kinds = alertKinds()
  const Alert = alertSchema(kinds)
  app.get(
    '/v1/alerts',
    {
      schema: v1Schema({
        summary: 'alerts, newest first',
        tags: ['alerts'],
        querystring: Type.Object({
          ...PageQuery,
          status: Type.Enum(['open', 'all'], {
            default: 'open',
            description: 'open: not resolved, dismissed or expired',
          }),
          kind: Type.Optional(Type.Enum(kinds)),
          unread: Type.Optional(Type.Boolean()),
          since: Type.Optional(Time('created after')),
        }),
        response: { 200: ListOf(Alert) },
      }),
    },
    async (request) => {
      const { query } = request
      return listBody(await alerts.page(db, request.userId, pageRequest(query), alertFilter(query)))
    },
  )

  app.patch(
    '/v1/alerts/:id',
    {
      schema: v1Schema({
        summary: 'mark an alert read or dismissed',
        tags: ['alerts'],
        params: IdParams,
        body: Type.Object(
          { read: Type.Optional(Type.Literal(true)), dismissed: Type.Optional(Type.Literal(true)) },
          { additionalProperties: false, minProperties: 1, maxProperties: 2 },
        ),
        response: { 200: Alert },
      }),
    },
    async (request) => {
      const marked = await markAlert(db, request.userId, request.params.id, request.body)
      if (!marked) throw notFound('alert')
      await announceAlertEvents(bus, marked.events, request.log, 'alert marked')
      return marked.alert
    },
  )

  app.post(
    '/v1/alerts/read-all',
    {
      schema: v1Schema({
        summary: 'mark every open alert read',
        tags: ['alerts'],
        response: { 200: Type.Object({ updated: Type.Integer({ description: 'alerts marked read' }) }) },
      }),
    },
    async (request) => {
      const events = await markAllRead(db, request.userId)
      await announceAlertEvents(bus, events, request.log, 'alerts marked read')
      return { updated: events.length }
    },
  )
}
