import Type from 'typebox'
import { type ExpenseFilter, expenseFilter, expenses } from '../../../expenses/expense-repository.js'
import { Time, Uuid } from '../../schemas.js'
import { crudRoutes } from './crud.js'
import { Body, Category, Currency, Money, Nullable, PatchOf } from './fields.js'
import type { RouteDeps } from './route-deps.js'

const fields = {
  amount: Money('amount spent'),
  currency: Currency,
  category: Category,
  spentAt: Time('when the money was spent'),
  note: Nullable(Type.String({ maxLength: 2000 })),
}

const Expense = Type.Object({
  id: Uuid('expense id'),
  ...fields,
  createdAt: Time('created'),
  updatedAt: Time('last changed'),
})

export const expenseRoutes = ({ db, commit }: RouteDeps) =>
  crudRoutes({
    path: '/v1/expenses',
    tag: 'expenses',
    noun: 'expense',
    db,
    commit,
    evaluates: ['budget'],
    resource: expenses,
    Item: Expense,
    Create: Body({ ...fields, note: Type.Optional(fields.note) }),
    Patch: PatchOf(fields),
    list: {
      query: {
        from: Type.Optional(Time('spent at or after')),
        to: Type.Optional(Time('spent before')),
        category: Type.Optional(Category),
      },
      filter: (query) => expenseFilter(query as ExpenseFilter),
    },
  })
