import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import type { Evaluate } from '../../../jobs/evaluation-trigger.js'
import { alertPage } from '../../../monitoring/alerts/alert-repository.js'
import { announceAlertEvents, markAlert, markAllRead } from '../../../monitoring/alerts/alert-store.js'
import { alertKinds, type Thresholds } from '../../../monitoring/registry.js'
import { learnFromVerdict } from '../../../monitoring/thresholds/learn-from-verdict.js'
import type { Bus } from '../../../platform/backend/backend.js'
import type { Db } from '../../../platform/db/database.js'
import { ListOf, listBody, PageQuery, pageRequest } from '../../pagination.js'
import { IdParams, NullableTime, serializedAsIs, Time, Uuid, v1Schema } from '../../schemas.js'
import { notFound, refuseIfAny } from './crud.js'

/** The longest a traveller may put an alert aside: past that, dismissing it says what they mean. */
const MAX_SNOOZE_DAYS = 30
const DAY_MS = 24 * 3_600_000

/** What is wrong with a snooze's end, if anything: it must be ahead, and within MAX_SNOOZE_DAYS. */
function snoozeProblems(until: string | null | undefined, now: Date) {
  if (until === undefined || until === null) return []
  const at = Date.parse(until)
  if (at <= now.getTime()) return [{ field: 'snoozedUntil', problem: 'must be in the future' }]
  if (at > now.getTime() + MAX_SNOOZE_DAYS * DAY_MS)
    return [{ field: 'snoozedUntil', problem: `must be within ${MAX_SNOOZE_DAYS} days` }]
  return []
}

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
    snoozedUntil: NullableTime(
      'snoozed: out of the open list and no channel delivers its condition until then; when it ends and the condition still holds, it comes back once (alert.updated, unread, delivered again)',
    ),
    feedback: Type.Unsafe<'useful' | 'not_useful' | null>({
      type: ['string', 'null'],
      enum: ['useful', 'not_useful', null],
      description: 'your verdict: three "not_useful" at one threshold move it one step (GET /v1/me/monitors)',
    }),
  })

export const alertRoutes: FastifyPluginAsyncTypebox<{
  db: Db
  bus: Bus
  thresholds: Thresholds
  evaluate: Evaluate
}> = async (app, { db, bus, thresholds, evaluate }) => {
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
      // The most read page (clients poll it): toAlert maps each field to its JSON type already.
      ...serializedAsIs,
    },
    async (request) => {
      const { query } = request
      return listBody(await alertPage(db, request.userId, pageRequest(query), query))
    },
  )

  app.patch(
    '/v1/alerts/:id',
    {
      schema: v1Schema({
        summary: 'mark an alert read or dismissed, snooze it, or say whether it was useful',
        tags: ['alerts'],
        params: IdParams,
        body: Type.Object(
          {
            read: Type.Optional(Type.Literal(true)),
            dismissed: Type.Optional(Type.Literal(true)),
            snoozedUntil: Type.Optional(
              Type.Unsafe<string | null>({
                type: ['string', 'null'],
                format: 'date-time',
                description: `until when (ahead, at most ${MAX_SNOOZE_DAYS} days); null: back in the open list now`,
              }),
            ),
            feedback: Type.Optional(Type.Enum(['useful', 'not_useful'])),
          },
          { additionalProperties: false, minProperties: 1, maxProperties: 4 },
        ),
        response: { 200: Alert },
      }),
    },
    async (request) => {
      const { userId, body } = request
      refuseIfAny(snoozeProblems(body.snoozedUntil, new Date()))
      // The verdict and what it teaches the traveller's thresholds: one transaction.
      const { marked, learned } = await db.transaction().execute(async (trx) => {
        const marked = await markAlert(trx, userId, request.params.id, body)
        const learned =
          marked && body.feedback === 'not_useful'
            ? await learnFromVerdict(trx, userId, marked.alert, thresholds)
            : undefined
        return { marked, learned }
      })
      if (!marked) throw notFound('alert')
      // The moved threshold's mark is written; its evaluation now rather than at the drainer's next look.
      if (learned) evaluate(learned.monitor, userId)
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
