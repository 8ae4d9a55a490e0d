import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type, { type TSchema } from 'typebox'
import type { Monitor } from '../../../monitoring/monitor.js'
import { alertKinds, monitors, type Thresholds } from '../../../monitoring/registry.js'
import {
  feedbackCounts,
  saveOwnThresholds,
  thresholdsOfEachMonitor,
} from '../../../monitoring/thresholds/threshold-repository.js'
import { thresholdProblems } from '../../../monitoring/thresholds/traveller-thresholds.js'
import type { Db } from '../../../platform/db/database.js'
import { NullableTime, v1Schema } from '../../schemas.js'
import type { CommitWrite } from '../../writes.js'
import { refuseIfAny } from './crud.js'

const Threshold = Type.Object({
  name: Type.String({ description: 'the name PATCH takes, e.g. mediumBelowPercent' }),
  value: Type.Number({ description: 'what your alerts use now' }),
  source: Type.Enum(['default', 'own', 'learned'], {
    description: 'default: the deployment’s; own: you set it; learned: your “not useful” verdicts moved it',
  }),
  reason: Type.Union([Type.String(), Type.Null()], {
    description: 'why a learned value, e.g. "you marked three alerts at 20 % not useful"; null otherwise',
  }),
  default: Type.Number(),
  min: Type.Number({ description: 'the lowest value you may set (and learning may reach)' }),
  max: Type.Number({ description: 'the highest' }),
  step: Type.Number({ description: 'how far one learning step moves it' }),
  unit: Type.Enum(['percent', 'ratio'], { description: 'ratio: a share of a budget (0.8 = 80 %)' }),
  priority: Type.Enum(['low', 'medium', 'high', 'urgent'], { description: 'the priority of the alerts it opens' }),
  learns: Type.Boolean({ description: 'whether your verdicts on those alerts move it' }),
  description: Type.String(),
  changedAt: NullableTime('when you (or learning) last set it; null: never'),
})

const monitorView = (kinds: string[]) =>
  Type.Object({
    monitor: Type.String({ description: 'the monitor, e.g. fuel' }),
    alertKind: Type.Enum(kinds),
    thresholds: Type.Array(Threshold, { description: 'empty: this monitor has nothing you can tune' }),
    feedback: Type.Object(
      { useful: Type.Integer(), notUseful: Type.Integer() },
      { description: 'your verdicts on its alerts (PATCH /v1/alerts/:id feedback), all time' },
    ),
  })

const tunable = (monitor: Monitor) => monitor.tunable ?? []

/** PATCH's body: per monitor, per tunable threshold, a value within its bounds, or null for the default. */
const changesSchema = (registered: readonly Monitor[]) =>
  Type.Object(
    Object.fromEntries(
      registered
        .filter((monitor) => tunable(monitor).length > 0)
        .map((monitor): [string, TSchema] => [
          monitor.name,
          Type.Optional(
            Type.Object(
              Object.fromEntries(
                tunable(monitor).map((t) => [
                  t.name,
                  Type.Optional(
                    Type.Union([Type.Number({ minimum: t.min, maximum: t.max }), Type.Null()], {
                      description: `${t.description}; ${t.min}…${t.max}; null: back to the default`,
                    }),
                  ),
                ]),
              ),
              { additionalProperties: false, minProperties: 1 },
            ),
          ),
        ]),
    ),
    { additionalProperties: false, minProperties: 1 },
  )

const numberOrNull = (value: unknown): number | null | undefined =>
  value === null ? null : typeof value === 'number' ? value : undefined

export const monitorRoutes: FastifyPluginAsyncTypebox<{ db: Db; commit: CommitWrite; thresholds: Thresholds }> = async (
  app,
  { db, commit, thresholds },
) => {
  // Read when the app is built, after every monitor is registered.
  const registered = monitors()
  const MonitorsView = Type.Object({ items: Type.Array(monitorView(alertKinds())) })
  const Changes = changesSchema(registered)
  /** What GET answers, read from `from` (the PATCH's transaction: its answer is what an Idempotency-Key replays). */
  const view = async (from: Db, userId: string) => {
    const [feedback, resolved] = await Promise.all([
      feedbackCounts(from, userId),
      thresholdsOfEachMonitor(from, registered, thresholds, userId),
    ])
    const items = registered.map((monitor) => ({
      monitor: monitor.name,
      alertKind: monitor.alertKind,
      thresholds: resolved.get(monitor.name) ?? [],
      feedback: feedback.get(monitor.alertKind) ?? { useful: 0, notUseful: 0 },
    }))
    return { items }
  }

  app.get(
    '/v1/me/monitors',
    {
      schema: v1Schema({
        summary: 'your monitors: the thresholds your alerts use, where each comes from, its bounds; your verdicts',
        tags: ['me'],
        response: { 200: MonitorsView },
      }),
    },
    async (request) => view(db, request.userId),
  )

  app.patch(
    '/v1/me/monitors',
    {
      schema: v1Schema({
        summary: 'set your own thresholds (a number within the bounds) or go back to the default (null)',
        tags: ['me'],
        body: Changes,
        response: { 200: MonitorsView },
      }),
    },
    async (request) => {
      const { userId } = request
      const changed = registered.flatMap((monitor) => {
        const body: Record<string, unknown> = request.body
        const given = body[monitor.name]
        if (typeof given !== 'object' || given === null) return []
        const changes = new Map(
          Object.entries(given).flatMap(([name, value]) => {
            const parsed = numberOrNull(value)
            return parsed === undefined ? [] : [[name, parsed] as const]
          }),
        )
        return [{ monitor, changes }]
      })
      // Each monitor's thresholds as they would be, checked together: one must still sound before the next.
      const problems: { field: string; problem: string }[] = []
      const resolved = await thresholdsOfEachMonitor(db, registered, thresholds, userId)
      for (const { monitor, changes } of changed) {
        const current = resolved.get(monitor.name) ?? []
        const after = new Map(
          current.map((t) => [t.name, changes.has(t.name) ? (changes.get(t.name) ?? t.default) : t.value]),
        )
        const declared = tunable(monitor)
        for (const { name, problem } of thresholdProblems(declared, after)) {
          // Out of order because its neighbour below moved: name the field the traveller sent.
          const before = declared[declared.findIndex((t) => t.name === name) - 1]?.name
          const field = changes.has(name) || !before ? name : before
          problems.push({ field: `${monitor.name}.${field}`, problem })
        }
      }
      refuseIfAny(problems)
      return commit(
        request,
        { writes: [], evaluates: changed.map((c) => c.monitor.name), statusCode: 200 },
        async (trx) => {
          for (const { monitor, changes } of changed) await saveOwnThresholds(trx, userId, monitor.name, changes)
          return view(trx, userId)
        },
      )
    },
  )
}
