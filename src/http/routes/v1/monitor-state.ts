import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { monitors } from '../../../monitoring/registry.js'
import { type MonitorStateDeps, monitorState } from '../../monitor-state.js'
import { NullableTime, Uuid, v1Schema } from '../../schemas.js'
import { alertSchema } from './alerts.js'
import { notFound } from './crud.js'
import { Delivery } from './deliveries.js'

const NullableString = (description: string) => Type.Union([Type.String(), Type.Null()], { description })

/** The answer's schema; `kinds` are the registered monitors' alert kinds (an open alert's `kind`). */
const monitorStateSchema = (kinds: string[]) =>
  Type.Object({
    kind: Type.String({ description: 'the alert kind asked about' }),
    monitor: Type.String({ description: 'the monitor that opens that kind' }),
    subject: Uuid('the subject asked about'),
    inputs: Type.Array(
      Type.Object({
        name: Type.String({
          description:
            'fuel_low: vehicle, reading, activeTrip; budget_threshold: budget, spending; maintenance_due: item, vehicle',
        }),
        at: NullableTime(
          'when the input was observed (a reading, the latest expense, the odometer, the cycle start); null for settings',
        ),
        value: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], {
          description: 'what the monitor read (null: nothing, e.g. no reading yet or no active trip)',
        }),
      }),
    ),
    thresholds: Type.Array(
      Type.Object({
        name: Type.String(),
        value: Type.Number(),
        source: Type.Enum(['default', 'own', 'learned'], { description: "default: the deployment's setting" }),
      }),
    ),
    result: Type.Object({
      condition: Type.Boolean({ description: 'whether the rule, run now on these inputs, wants an alert open' }),
      priority: Type.Union([Type.Enum(['low', 'medium', 'high', 'urgent']), Type.Null()]),
      title: NullableString("the alert's title as the rule writes it"),
      threshold: Type.Union([Type.Number(), Type.Null()], {
        description: "the threshold the input crossed (the alert's data.threshold)",
      }),
    }),
    openAlert: Type.Union([alertSchema(kinds), Type.Null()], {
      description:
        "the condition's alert not resolved yet (read or dismissed, it still stands: no other opens), or null",
    }),
    lastEvaluation: Type.Object({
      evaluatedAt: NullableTime("when the monitor's latest evaluation of your data was applied"),
      pendingSince: NullableTime('a write waits for the next evaluation since then'),
      ruleVersion: Type.Integer(),
    }),
    channels: Type.Array(
      Type.Object({
        channel: Type.Enum(['email', 'push']),
        decision: Type.Union([Type.Enum(['send', 'defer', 'suppress']), Type.Null()], {
          description:
            'what a delivery would decide now, for that alert (else the alert the rule wants); null: no condition',
        }),
        reason: NullableString(
          'defer: quiet hours | hourly email limit; suppress: channel off | no address | address not confirmed | no subscription | channel not configured | below minimum priority | read | dismissed | resolved | expired',
        ),
        until: NullableTime('defer: when it may go out (the end of quiet hours, a free slot under the email cap)'),
        delivery: Type.Union([Delivery, Type.Null()], {
          description: 'what was recorded for that alert on this channel',
        }),
      }),
    ),
  })

export const monitorStateRoutes: FastifyPluginAsyncTypebox<MonitorStateDeps> = async (app, deps) => {
  // Read when the app is built, after every monitor is registered: those that explain themselves.
  const explained = monitors().flatMap((monitor) =>
    monitor.explain ? [{ monitor, subject: monitor.explain.subject }] : [],
  )
  const subjects = explained.map(({ monitor, subject }) => `${monitor.alertKind}: a ${subject}`).join('; ')
  app.get(
    '/v1/monitors/:kind/state',
    {
      schema: v1Schema({
        summary:
          'why (or why not): what a monitor read about one subject of yours, its verdict, and each channel’s delivery decision',
        tags: ['alerts'],
        params: Type.Object({
          kind: Type.Enum(
            explained.map(({ monitor }) => monitor.alertKind),
            { description: `the alert kind whose monitor to ask (${subjects})` },
          ),
        }),
        querystring: Type.Object({ subject: Uuid(`the subject's id (${subjects})`) }),
        response: { 200: monitorStateSchema(monitors().map((monitor) => monitor.alertKind)) },
      }),
    },
    async (request) => {
      const found = explained.find(({ monitor }) => monitor.alertKind === request.params.kind)
      const state =
        found && (await monitorState(deps, found.monitor, request.userId, request.query.subject, new Date()))
      if (!state) throw notFound(found?.subject ?? 'subject')
      return state
    },
  )
}
