import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { budgets } from '../../../travellers/budgets/budget-repository.js'
import { currentBudgetStatus } from '../../../travellers/budgets/budget-service.js'
import { IdParams, Time, typed, Uuid, v1Schema } from '../../schemas.js'
import { crudRoutes, notFound, type ResourceDeps } from './crud.js'
import { Body, Category, Currency, Money, Nullable, PatchOf } from './fields.js'

const fields = {
  category: Nullable(Category),
  amount: Type.Number({
    exclusiveMinimum: 0,
    maximum: 1_000_000_000,
    multipleOf: 0.01,
    description: 'at most 2 decimals',
  }),
  currency: Currency,
  period: Type.Enum(['week', 'month'], { description: 'weeks start on Monday, in the user timezone' }),
}

const Budget = Type.Object({
  id: Uuid('budget id'),
  ...fields,
  createdAt: Time('created'),
  updatedAt: Time('last changed'),
})

const BudgetStatus = Type.Object({
  spent: Money('spent this period, in the budget currency'),
  remaining: Type.Number({ description: 'amount − spent; negative when over' }),
  ratio: Type.Number({ description: 'spent / amount' }),
  periodStart: Time('start of the current period, in the user timezone'),
  periodEnd: Time('end of the current period (exclusive)'),
  daysLeft: Type.Integer({ minimum: 1, description: 'days left in the period, today included' }),
  dailyAllowance: Money('what can be spent per remaining day to stay within the budget'),
})

export const budgetRoutes: FastifyPluginAsyncTypebox<ResourceDeps> = async (app, deps) => {
  await app.register(
    crudRoutes({
      path: '/v1/budgets',
      tag: 'budgets',
      noun: 'budget',
      writes: ['budgets'],
      resource: budgets,
      Item: Budget,
      Create: typed(Body({ ...fields, category: Type.Optional(fields.category) })),
      Patch: typed(PatchOf(fields)),
    }),
    deps,
  )

  app.get(
    '/v1/budgets/:id/status',
    {
      schema: v1Schema({
        summary: "where a budget stands in its current period (the user's timezone)",
        tags: ['budgets'],
        params: IdParams,
        response: { 200: BudgetStatus },
      }),
    },
    async (request) =>
      (await currentBudgetStatus(deps.db, request.userId, request.params.id, new Date())) ??
      Promise.reject(notFound('budget')),
  )
}
