import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import { budgetPeriod, budgetStatus } from '../../../budgets/budget-period.js'
import { budgets, spentInPeriod } from '../../../budgets/budget-repository.js'
import { getUser } from '../../../users/user-repository.js'
import { IdParams, Time, Uuid, v1Schema } from '../../schemas.js'
import { crudRoutes, notFound } from './crud.js'
import { Body, Category, Currency, Money, Nullable, PatchOf } from './fields.js'
import type { RouteDeps } from './route-deps.js'

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

export function budgetRoutes({ db, commit }: RouteDeps) {
  return async (app: FastifyInstance) => {
    await app.register(
      crudRoutes({
        path: '/v1/budgets',
        tag: 'budgets',
        noun: 'budget',
        db,
        commit,
        evaluates: ['budget'],
        resource: budgets,
        Item: Budget,
        Create: Body({ ...fields, category: Type.Optional(fields.category) }),
        Patch: PatchOf(fields),
      }),
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
      async (request) => {
        const { id } = request.params as { id: string }
        const budget = await budgets.get(db, request.userId, id)
        if (!budget) throw notFound('budget')
        const user = await getUser(db, request.userId)
        const period = budgetPeriod(budget.period, user?.timezone ?? 'UTC', new Date())
        const spent = await spentInPeriod(db, request.userId, budget, period.start, period.end)
        return budgetStatus(budget.amount, spent, period)
      },
    )
  }
}
