import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import { createDueDailyBriefings } from '../../src/ai/briefings/briefing-repository.js'
import { markedOrDueUsers } from '../../src/monitoring/candidates.js'
import { budgetsDueWithTime, loadBudgetSnapshots } from '../../src/monitoring/monitors/budget/snapshot.js'
import { migrateDown, migrateUp, migrationStatus } from '../../src/platform/db/migrator.js'
import { countUnreadableZones } from '../../src/travellers/users/time-zone-repository.js'
import { type ApiHarness, client, startApiHarness, userToken } from '../helpers/api.js'
import { inBothModes } from '../helpers/harness.js'

/** A zone whose local hour is `hour` now (Etc/GMT signs are POSIX's: Etc/GMT-3 is UTC+3). */
function zoneAtHour(hour: number): string {
  let offset = (hour - new Date().getUTCHours() + 24) % 24
  if (offset > 12) offset -= 24
  return offset === 0 ? 'UTC' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`
}

// PostgreSQL cannot read the first; it reads the second as UTC−5 (POSIX) where Intl reads UTC+5;
// Intl cannot read the third, which PostgreSQL reads.
const UNREADABLE = ['Mars/Olympus', '+05:00', 'posix/Europe/Berlin']

inBothModes('time zones every reader agrees on', (mode) => {
  let api: ApiHarness

  before(async () => {
    api = await startApiHarness(mode)
  })
  after(async () => {
    await api?.close()
  })
  const db = () => api.harness.deps.db

  /** A traveller with a budget, an expense (so they are active) and `timezone` written by SQL. */
  async function travellerWithZone(timezone: string) {
    const id = randomUUID()
    await db().insertInto('users').values({ id, timezone }).execute()
    const [budget] = await db()
      .insertInto('budgets')
      .values({ user_id: id, category: 'food', amount: 500, currency: 'USD', period: 'month' })
      .returning('id')
      .execute()
    // Booked before this month began and dated inside it: the budget sweep's due-with-time query finds it.
    await db()
      .insertInto('expenses')
      .values({
        user_id: id,
        amount: 450,
        currency: 'USD',
        category: 'food',
        spent_at: new Date(),
        created_at: new Date(Date.now() - 40 * 86_400_000),
      } as never)
      .execute()
    return { id, budgetId: budget?.id as string, call: client(api.app, await userToken(id)) }
  }

  it('takes a zone only when PostgreSQL, luxon and Intl read it alike, stored as PostgreSQL spells it', async () => {
    const call = client(api.app, await userToken())
    for (const timezone of ['+05:00', '-03:30', 'UTC+5', 'GMT+5', 'posix/Europe/Berlin', 'Factory', 'Mars/Olympus']) {
      const refused = await call('PATCH', '/v1/me', { timezone })
      assert.equal(refused.status, 400, `${timezone}: ${JSON.stringify(refused.body)}`)
      assert.deepEqual(
        refused.body.details.map((d: { field: string }) => d.field),
        ['timezone'],
      )
    }
    assert.equal((await call('GET', '/v1/me')).body.timezone, 'UTC', 'nothing changed')
    for (const [given, stored] of [
      ['america/denver', 'America/Denver'],
      ['Etc/GMT-5', 'Etc/GMT-5'],
      ['UTC', 'UTC'],
    ]) {
      const accepted = await call('PATCH', '/v1/me', { timezone: given })
      assert.equal(accepted.status, 200, `${given}: ${JSON.stringify(accepted.body)}`)
      assert.equal(accepted.body.timezone, stored)
    }
  })

  it('a zone stored past the check fails no statement that serves others: it is read as UTC, or skipped and counted', async () => {
    const hour = 7
    const readable = await travellerWithZone(zoneAtHour(hour))
    const unreadable = await Promise.all(UNREADABLE.map(travellerWithZone))

    // The deployment-wide briefing statement: the readable traveller gets theirs, the others are left out.
    const due = await createDueDailyBriefings(db(), hour)
    assert.deepEqual(
      due.map((briefing) => briefing.userId),
      [readable.id],
    )
    assert.equal(await countUnreadableZones(db()), UNREADABLE.length)

    // The budget sweep: a page holding all of them, and the query of what changed with time alone.
    const snapshots = await loadBudgetSnapshots(db(), [readable.id, ...unreadable.map((t) => t.id)], new Date())
    for (const traveller of unreadable) {
      assert.equal(snapshots.get(traveller.id)?.budgets.length, 1)
    }
    const since = new Date(Date.now() - 40 * 86_400_000)
    const found = await markedOrDueUsers(
      db(),
      'budget',
      { after: null, limit: 500 },
      budgetsDueWithTime({ since, now: new Date() }),
    )
    for (const traveller of [readable, ...unreadable]) assert.ok(found.includes(traveller.id))

    // Their own requests: a briefing and a budget's status, on UTC's calendar.
    for (const traveller of unreadable) {
      const asked = await traveller.call('POST', '/v1/briefings')
      assert.equal(asked.status, 202, JSON.stringify(asked.body))
      const status = await traveller.call('GET', `/v1/budgets/${traveller.budgetId}/status`)
      assert.equal(status.status, 200, JSON.stringify(status.body))
      assert.match(status.body.periodStart, /T00:00:00\.000Z$/)
    }
  })

  it('the migration repairs zones stored before the check: another case, a whole-hour offset, or UTC', async () => {
    const applied = async () => (await migrationStatus(db())).find((m) => m.name.endsWith('_time_zones'))?.executedAt
    while (await applied()) await migrateDown(db())
    const stored = {
      'america/denver': 'America/Denver',
      '+05:00': 'Etc/GMT-5',
      '-0300': 'Etc/GMT+3',
      '+05:30': 'UTC',
      'Mars/Olympus': 'UTC',
      'Europe/Berlin': 'Europe/Berlin',
    }
    const ids = new Map<string, string>()
    for (const timezone of Object.keys(stored)) {
      const id = randomUUID()
      ids.set(timezone, id)
      await db().insertInto('users').values({ id, timezone }).execute()
    }
    await migrateUp(db())
    for (const [before, repaired] of Object.entries(stored)) {
      const row = await db()
        .selectFrom('users')
        .select('timezone')
        .where('id', '=', ids.get(before) as string)
        .executeTakeFirstOrThrow()
      assert.equal(row.timezone, repaired, before)
    }
  })
})
