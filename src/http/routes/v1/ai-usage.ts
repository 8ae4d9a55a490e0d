import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { userUsage } from '../../../ai/ai-usage-repository.js'
import { type Caps, utcDay } from '../../../ai/budget.js'
import type { Db } from '../../../platform/db/database.js'
import { v1Schema } from '../../schemas.js'

export const UsageTotals = Type.Object({
  calls: Type.Integer({ description: 'model calls made' }),
  refused: Type.Integer({ description: 'calls a budget refused (a template was used)' }),
  costUsd: Type.Number(),
  inputTokens: Type.Integer(),
  outputTokens: Type.Integer(),
  cacheWriteTokens: Type.Integer(),
  cacheReadTokens: Type.Integer(),
})

export const aiUsageRoutes: FastifyPluginAsyncTypebox<{ db: Db; caps: Caps }> = async (app, { db, caps }) => {
  app.get(
    '/v1/me/ai-usage',
    {
      schema: v1Schema({
        summary: 'your AI calls and their cost today and this month (UTC), and your daily cap',
        tags: ['me'],
        response: {
          200: Type.Object({
            day: Type.String({ format: 'date', description: 'the UTC day caps are counted in' }),
            today: UsageTotals,
            month: UsageTotals,
            caps: Type.Object({ dailyUsd: Type.Number({ description: 'AI_USER_DAILY_BUDGET_USD' }) }),
          }),
        },
      }),
    },
    async (request) => {
      const day = utcDay(new Date())
      return { day, ...(await userUsage(db, request.userId, day)), caps: { dailyUsd: caps.userUsd } }
    },
  )
}
