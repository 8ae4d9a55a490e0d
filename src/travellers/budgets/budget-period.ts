import { DateTime } from 'luxon'
import { readableZone } from '../users/time-zones.js'
import type { BudgetPeriodKind } from './budget-repository.js'

export interface BudgetPeriod {
  /** Start of the period in the user's timezone, ISO 8601 with offset. */
  start: string
  /** End (exclusive): the start of the next period. */
  end: string
  /** Days left including today. */
  daysLeft: number
}

/** The week (from Monday) or calendar month containing `now`, in the user's timezone (UTC when it cannot be read). */
export function budgetPeriod(kind: BudgetPeriodKind, timezone: string, now: Date): BudgetPeriod {
  const local = DateTime.fromJSDate(now, { zone: readableZone(timezone) })
  const start = local.startOf(kind === 'week' ? 'week' : 'month')
  const end = start.plus(kind === 'week' ? { weeks: 1 } : { months: 1 })
  const today = local.startOf('day')
  return {
    start: start.toISO() ?? '',
    end: end.toISO() ?? '',
    daysLeft: Math.max(1, Math.round(end.diff(today, 'days').days)),
  }
}

export interface BudgetStatus {
  spent: number
  remaining: number
  ratio: number
  periodStart: string
  periodEnd: string
  daysLeft: number
  dailyAllowance: number
}

const cents = (value: number) => Math.round(value * 100) / 100

/** Where a budget stands: what is left, and what can be spent each remaining day to stay within it. */
export function budgetStatus(amount: number, spent: number, period: BudgetPeriod): BudgetStatus {
  const remaining = cents(amount - spent)
  return {
    spent: cents(spent),
    remaining,
    ratio: amount > 0 ? Math.round((spent / amount) * 10_000) / 10_000 : 0,
    periodStart: period.start,
    periodEnd: period.end,
    daysLeft: period.daysLeft,
    dailyAllowance: cents(Math.max(0, remaining) / period.daysLeft),
  }
}
