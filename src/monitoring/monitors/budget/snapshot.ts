import { sql } from 'kysely'
import type { Db } from '../../../platform/db/database.js'
import { budgetPeriod } from '../../../travellers/budgets/budget-period.js'
import { addOpenConditions, type OpenConditions } from '../../alerts/alert-repository.js'
import { type CandidatePage, candidateUsers, type DueWithTime, type TimeWindow } from '../../candidates.js'
import { storedFromJson, storedThresholdsOf } from '../../thresholds/snapshot-thresholds.js'
import type { BudgetSnapshot, BudgetState } from './rule.js'

const TOP_CATEGORIES = 3

/**
 * The budget monitor's input for a set of users in three queries: their budgets (with the
 * user's timezone and thresholds), what was spent per budget and category in each budget's current period
 * (summed in NUMERIC), and the conditions of their open budget alerts. Periods are computed here, in the user's
 * timezone, by the same function the status endpoint uses.
 */
export async function loadBudgetSnapshots(
  db: Db,
  userIds: readonly string[],
  now: Date,
  open?: OpenConditions,
): Promise<Map<string, BudgetSnapshot>> {
  const snapshots = new Map<string, BudgetSnapshot>(userIds.map((id) => [id, { budgets: [], openConditions: [] }]))
  if (userIds.length === 0) return snapshots
  const budgets = await db
    .selectFrom('budgets as b')
    .innerJoin('users as u', 'u.id', 'b.user_id')
    .leftJoin(storedThresholdsOf(db, userIds, 'budget').as('own'), 'own.user_id', 'b.user_id')
    .select(['b.id', 'b.user_id', 'b.category', 'b.amount', 'b.currency', 'b.period', 'u.timezone', 'own.thresholds'])
    .where('b.user_id', 'in', [...userIds])
    .execute()
  const periods = new Map(budgets.map((b) => [b.id, budgetPeriod(b.period, b.timezone, now)]))
  const spending =
    budgets.length === 0
      ? []
      : await sql<{ budget_id: string; category: string; spent: string; budget_spent: string; last_spent_at: Date }>`
          select p.budget_id, e.category, sum(e.amount) as spent, max(e.spent_at) as last_spent_at,
                 sum(sum(e.amount)) over (partition by p.budget_id) as budget_spent
          from unnest(${sql.val(budgets.map((b) => b.id))}::uuid[],
                      ${sql.val(budgets.map((b) => periods.get(b.id)?.start))}::timestamptz[],
                      ${sql.val(budgets.map((b) => periods.get(b.id)?.end))}::timestamptz[]) as p(budget_id, starts, ends)
          join budgets b on b.id = p.budget_id
          join expenses e on e.user_id = b.user_id
            and e.currency = b.currency
            and (b.category is null or e.category = b.category)
            and e.spent_at >= p.starts and e.spent_at < p.ends
          group by p.budget_id, e.category`
          .execute(db)
          .then((result) => result.rows)
  for (const budget of budgets) {
    const rows = spending.filter((row) => row.budget_id === budget.id)
    const byCategory = rows
      .map((row) => ({ category: row.category, spent: Number(row.spent) }))
      .sort((a, b) => b.spent - a.spent || a.category.localeCompare(b.category))
    const last = rows.reduce<Date | null>(
      (latest, row) => (latest && latest > row.last_spent_at ? latest : row.last_spent_at),
      null,
    )
    const state: BudgetState = {
      id: budget.id,
      category: budget.category,
      amount: Number(budget.amount),
      currency: budget.currency,
      period: periods.get(budget.id) ?? budgetPeriod(budget.period, budget.timezone, now),
      // Summed in NUMERIC, like the status endpoint's spentInPeriod: a float sum would drift.
      spent: Number(rows[0]?.budget_spent ?? 0),
      lastSpentAt: last?.toISOString() ?? null,
      topCategories: byCategory.slice(0, TOP_CATEGORIES),
    }
    const snapshot = snapshots.get(budget.user_id)
    if (!snapshot) continue
    snapshot.budgets.push(state)
    // The same array on each of the traveller's budgets: read once.
    if (snapshot.budgets.length === 1) snapshot.thresholds = storedFromJson(budget.thresholds)
  }
  await addOpenConditions(db, snapshots, 'budget_threshold', open)
  return snapshots
}

/** One keyset page of the budget sweep's candidates: users with a budget or an open budget alert. */
export const budgetCandidates = (db: Db, page: CandidatePage) =>
  candidateUsers(db, page, 'budget_threshold', (eb) =>
    eb.exists(eb.selectFrom('budgets as b').select(sql`1`.as('one')).whereRef('b.user_id', '=', 'u.id')),
  )

/**
 * Budgets whose period began in the window and that hold an expense written before it began but
 * dated inside it (next month's ferry, booked now): it counts from that moment, with no write to
 * mark it. A period rolling over otherwise only closes the last period's alert, which expires.
 * Periods begin as budgetPeriod says: Monday or the 1st, 00:00 in the traveller's timezone.
 */
export const budgetsDueWithTime = ({ since, now }: TimeWindow): DueWithTime => sql<{ user_id: string }>`
  select e.user_id
  from expenses e
  join budgets b on b.user_id = e.user_id
  join users u on u.id = e.user_id
  -- a zone PostgreSQL cannot read as a name is read as UTC, as budgetPeriod does
  left join time_zones z on z.name = u.timezone
  cross join lateral (
    select date_trunc(case when b.period = 'week' then 'week' else 'month' end,
                      ${now}::timestamptz at time zone coalesce(z.name, 'UTC')) at time zone coalesce(z.name, 'UTC') as starts
  ) p
  where e.spent_at > e.created_at and e.spent_at > ${since}
    and p.starts > ${since} and p.starts <= ${now}
    and e.spent_at >= p.starts and e.created_at < p.starts`
