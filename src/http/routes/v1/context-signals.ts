import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { contextSignals, SIGNAL_KINDS } from '../../../travellers/context/context-signal-repository.js'
import { Time, Uuid, v1Schema } from '../../schemas.js'
import { type ResourceDeps, refuseIfAny } from './crud.js'
import { Body, Latitude, Longitude, positionProblems } from './fields.js'

const ContextSignal = Type.Object({
  id: Uuid('signal id'),
  kind: Type.Enum(SIGNAL_KINDS),
  value: Type.String(),
  confidence: Type.Number(),
  lat: Type.Union([Latitude, Type.Null()]),
  lon: Type.Union([Longitude, Type.Null()]),
  observedAt: Time('when observed'),
  createdAt: Time('created'),
})

export const contextSignalRoutes: FastifyPluginAsyncTypebox<Pick<ResourceDeps, 'commit'>> = async (app, { commit }) => {
  app.post(
    '/v1/context-signals',
    {
      schema: v1Schema({
        summary: "report a signal about the user's context (location, activity, arrival, departure, weather)",
        tags: ['context'],
        body: Body({
          kind: Type.Enum(SIGNAL_KINDS),
          value: Type.String({ minLength: 1, maxLength: 500 }),
          confidence: Type.Number({ minimum: 0, maximum: 1, description: '0–1; above 0.7 changes the context' }),
          lat: Type.Optional(Latitude),
          lon: Type.Optional(Longitude),
          observedAt: Type.Optional(Time('when observed; default: now')),
        }),
        response: { 201: ContextSignal },
      }),
    },
    async (request, reply) => {
      const input = request.body
      refuseIfAny(positionProblems(input))
      const signal = await commit(
        request,
        { writes: ['context_signals'], oneStatement: true, statusCode: 201 },
        (trx) => contextSignals.create(trx, request.userId, input),
      )
      return reply.code(201).send(signal)
    },
  )
}
