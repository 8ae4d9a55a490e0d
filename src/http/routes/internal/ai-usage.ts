import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import { deploymentUsage } from '../../../ai/ai-usage-repository.js'
import { type Caps, utcDay } from '../../../ai/budget.js'
import type { Db } from '../../../platform/db/database.js'
import type { InternalAuth } from '../../plugins/internal-auth.js'
import { ErrorBody } from '../../schemas.js'
import { UsageTotals } from '../v1/ai-usage.js'

const ModelUsage = Type.Intersect([
  Type.Object({
    provider: Type.String(),
    model: Type.String(),
    cacheHits: Type.Integer({ description: 'calls that read the prompt cache' }),
    failed: Type.Integer({ description: 'calls made that failed (rate limited, overloaded, invalid reply…)' }),
  }),
  UsageTotals,
])

/** The operator's view of AI spend: one UTC day, per provider and model, against the deployment cap. */
export function internalAiUsageRoutes(deps: { db: Db; internalAuth: InternalAuth; caps: Caps }) {
  return async (fastify: FastifyInstance) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
    app.get(
      '/internal/ai-usage',
      {
        onRequest: deps.internalAuth,
        schema: {
          tags: ['operations'],
          security: [{ internalToken: [] }],
          querystring: Type.Object({
            day: Type.Optional(Type.String({ format: 'date', description: 'UTC day; default today' })),
          }),
          response: {
            200: Type.Object({
              day: Type.String({ format: 'date' }),
              capUsd: Type.Number({ description: 'AI_DAILY_BUDGET_USD' }),
              spentUsd: Type.Number({ description: 'settled cost plus reservations of calls in flight' }),
              models: Type.Array(ModelUsage),
            }),
            401: ErrorBody,
          },
        },
      },
      async (request) => {
        const day = request.query.day ?? utcDay(new Date())
        return { day, capUsd: deps.caps.deploymentUsd, ...(await deploymentUsage(deps.db, day)) }
      },
    )
  }
}
