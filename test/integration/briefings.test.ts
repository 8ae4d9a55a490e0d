import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import { sql } from 'kysely'
import { briefings, createDueDailyBriefings } from '../../src/ai/briefings/briefing-repository.js'
import { writeBriefing } from '../../src/ai/briefings/briefing-writer.js'
import { buildTextGenerator } from '../../src/app/composition/worker-services.js'
import { type ApiHarness, client, startApiHarness, userToken } from '../helpers/api.js'
import { type Harness, inBothModes, startHarness } from '../helpers/harness.js'

/** An IANA zone whose local hour is `hour` now (Etc/GMT signs are inverted: Etc/GMT-3 is UTC+3). */
function zoneAtHour(hour: number): string {
  let offset = (hour - new Date().getUTCHours() + 24) % 24
  if (offset > 12) offset -= 24
  // Etc/GMT+12 … Etc/GMT-12 cover −12 … +12 whole hours.
  return offset === 0 ? 'UTC' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`
}

inBothModes('briefings without AI keys, and the daily schedule', (mode) => {
  let harness: Harness

  before(async () => {
    harness = await startHarness(mode)
  })
  after(async () => {
    await harness?.close()
  })

  const traveller = async (timezone: string, active: boolean) => {
    const id = randomUUID()
    const { db } = harness.deps
    await db.insertInto('users').values({ id, timezone }).execute()
    if (active) {
      await db
        .insertInto('budgets')
        .values({ user_id: id, category: 'food', amount: 500, currency: 'USD', period: 'month' })
        .execute()
      await db
        .insertInto('expenses')
        .values({ user_id: id, amount: 450, currency: 'USD', category: 'food', spent_at: new Date() })
        .execute()
    }
    return id
  }

  it('creates one daily briefing per active traveller whose local morning it is, once', async () => {
    const morning = await traveller(zoneAtHour(7), true)
    const idle = await traveller(zoneAtHour(7), false)
    const evening = await traveller(zoneAtHour(19), true)
    const due = await createDueDailyBriefings(harness.deps.db, 7)
    const users = due.map((briefing) => briefing.userId)
    assert.ok(users.includes(morning))
    assert.ok(!users.includes(idle), 'no data, no briefing')
    assert.ok(!users.includes(evening), 'not their morning')
    assert.ok(!(await createDueDailyBriefings(harness.deps.db, 7)).some((b) => b.userId === morning), 'once a day')
  })

  it('with no keys, the briefing is written from templates and says why', async () => {
    const userId = await traveller('UTC', true)
    const [briefing] = await harness.deps.db
      .insertInto('briefings')
      .values({ user_id: userId, kind: 'requested', period: new Date().toISOString().slice(0, 10) })
      .returning('id')
      .execute()
    const generate = buildTextGenerator(harness.config, harness.deps)
    const result = await writeBriefing({ db: harness.deps.db, generate }, briefing?.id ?? '', { retriesLeft: false })
    assert.deepEqual(result, { written: true, textSource: 'template' })
    const [written] = (await briefings.page(harness.deps.db, userId, { limit: 10 })).rows
    assert.equal(written?.status, 'ready')
    assert.equal(written?.textSource, 'template')
    assert.equal(written?.templateReason, 'analysis:no_key,fast:no_key')
    assert.equal(written?.sections[0]?.title, 'Spending: 1 budget on pace to run over')
    assert.ok(written?.summary)
    assert.equal(written?.costUsd, 0)
    assert.deepEqual(await harness.deps.db.selectFrom('ai_calls').selectAll().execute(), [], 'no call, no ledger row')
    assert.deepEqual(
      await writeBriefing({ db: harness.deps.db, generate }, briefing?.id ?? '', { retriesLeft: false }),
      {
        written: false,
      },
    )
  })
})

inBothModes('asking for a briefing', (mode) => {
  let api: ApiHarness

  before(async () => {
    api = await startApiHarness(mode, { BRIEFING_REQUESTS_PER_HOUR: '3' })
  })
  after(async () => {
    await api?.close()
  })

  it("a request that failed (500) uses none of the traveller's requests of the hour", async () => {
    const call = client(api.app, await userToken())
    const { db } = api.harness.deps
    // The database refuses the briefing for a moment, as an internal fault would.
    await sql`
      create function pam_test_refuse() returns trigger language plpgsql as $$
        begin raise exception 'refused for the test'; end $$;
      create trigger pam_test_refuse before insert on briefings
        for each row execute function pam_test_refuse()`.execute(db)
    try {
      for (let i = 0; i < 3; i++) assert.equal((await call('POST', '/v1/briefings')).status, 500)
    } finally {
      await sql`drop trigger pam_test_refuse on briefings; drop function pam_test_refuse()`.execute(db)
    }
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await call('POST', '/v1/briefings')).status)
    assert.deepEqual(statuses, [202, 202, 202, 429])
    const refused = await call('POST', '/v1/briefings')
    assert.match(refused.body.message, /^3 briefings an hour asked for already; retry in \d+ s$/)
    assert.ok(Number(refused.headers['retry-after']) > 3000)
  })
})
