import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { briefings, localDateOf, requestBriefing, withdrawBriefing } from '../../../ai/briefings/briefing-repository.js'
import type { Db } from '../../../platform/db/database.js'
import { HttpError } from '../../errors.js'
import { ListOf, listBody, PageQuery, pageRequest } from '../../pagination.js'
import { Time, Uuid, v1Schema } from '../../schemas.js'

const Section = Type.Object({ title: Type.String(), body: Type.String() })

const Briefing = Type.Object({
  id: Uuid('briefing id'),
  createdAt: Time('asked for or scheduled'),
  period: Type.String({ format: 'date', description: 'the local date it covers' }),
  kind: Type.Enum(['daily', 'requested']),
  status: Type.Enum(['pending', 'ready'], { description: 'pending until it is written (seconds)' }),
  textSource: Type.String({ description: '"template", or the model that wrote it' }),
  summary: Type.Union([Type.String(), Type.Null()], { description: 'one line; null while pending' }),
  sections: Type.Array(Section),
  costUsd: Type.Union([Type.Number(), Type.Null()], { description: 'what the model calls cost' }),
  templateReason: Type.Union([Type.String(), Type.Null()], {
    description: 'why a template was written instead (no key, budget, AI off…); null otherwise',
  }),
})

export interface BriefingRouteDeps {
  db: Db
  /** Queues the writing of a pending briefing. */
  queueBriefing(briefingId: string, userId: string): Promise<void>
  /** Briefings one traveller may ask for per hour. */
  requestsPerHour: number
}

export const briefingRoutes: FastifyPluginAsyncTypebox<BriefingRouteDeps> = async (
  app,
  { db, queueBriefing, requestsPerHour },
) => {
  app.get(
    '/v1/briefings',
    {
      schema: v1Schema({
        summary: 'your briefings (daily analyses and the ones you asked for), newest first',
        tags: ['briefings'],
        querystring: Type.Object(PageQuery),
        response: { 200: ListOf(Briefing) },
      }),
    },
    async (request) => {
      return listBody(await briefings.page(db, request.userId, pageRequest(request.query)))
    },
  )

  app.post(
    '/v1/briefings',
    {
      schema: v1Schema({
        summary:
          'ask for a briefing now (BRIEFING_REQUESTS_PER_HOUR an hour; a request that failed counts for nothing); it is written in the background (poll GET /v1/briefings)',
        tags: ['briefings'],
        response: { 202: Type.Object({ id: Uuid('the briefing, pending until written') }) },
      }),
    },
    async (request, reply) => {
      const period = await localDateOf(db, request.userId, new Date())
      // Each one may call the analysis model: a few an hour per traveller, besides the budgets.
      const asked = await requestBriefing(db, request.userId, period, requestsPerHour)
      if ('retryAfterMs' in asked) {
        const seconds = Math.ceil(asked.retryAfterMs / 1000)
        reply.header('retry-after', seconds)
        throw new HttpError(
          429,
          'rate_limited',
          `${requestsPerHour} briefings an hour asked for already; retry in ${seconds} s`,
        )
      }
      await queueBriefing(asked.id, request.userId).catch(async (error) => {
        // The request fails, so it leaves nothing behind and uses none of the hour's requests.
        await withdrawBriefing(db, request.userId, asked.id)
        throw error
      })
      return reply.code(202).send({ id: asked.id })
    },
  )
}
