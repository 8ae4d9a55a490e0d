import Type from 'typebox'
import { expenseFilter, expenses } from '../../../travellers/budgets/expense-repository.js'
import { Time, typed, Uuid } from '../../schemas.js'
import { crudRoutes } from './crud.js'
import { Body, Category, Currency, Money, Nullable, PatchOf } from './fields.js'

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

export const expenseRoutes = crudRoutes({
  path: '/v1/expenses',
  tag: 'expenses',
  noun: 'expense',
  writes: ['expenses'],
  resource: expenses,
  Item: Expense,
  Create: typed(Body({ ...fields, note: Type.Optional(fields.note) })),
  Patch: typed(PatchOf(fields)),
  list: {
    query: typed(
      Type.Object({
        from: Type.Optional(Time('spent at or after')),
        to: Type.Optional(Time('spent before')),
        category: Type.Optional(Category),
      }),
    ),
    filter: expenseFilter,
  },
})
