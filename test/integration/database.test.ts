import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import { createDatabase, type Db } from '../../src/platform/db/database.js'
import { apiTime, toIso } from '../../src/platform/db/mapping.js'
import { migrateDown, migrateUp, migrationStatus } from '../../src/platform/db/migrator.js'
import { createLogger } from '../../src/platform/logger.js'
import { createTestDatabase } from '../helpers/services.js'

const TABLES = [
  'ai_budget_days',
  'ai_calls',
  'ai_provider_blocks',
  'alerts',
  'briefings',
  'budgets',
  'cache_entries',
  'context_signals',
  'deliveries',
  'digests',
  'email_sends',
  'evaluation_fences',
  'evaluation_marks',
  'expenses',
  'fuel_readings',
  'idempotency_keys',
  'maintenance_items',
  'monitor_inputs',
  'monitor_run_pages',
  'monitor_runs',
  'notification_settings',
  'operator_alerts',
  'provider_outcomes',
  'push_subscriptions',
  'rate_limit_hits',
  'schedule_runs',
  'task_leases',
  'time_zones',
  'traveller_thresholds',
  'trips',
  'unsubscribe_uses',
  'users',
  'vehicles',
  'worker_heartbeats',
]

async function tables(db: Db): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = 'public' and table_name not like 'kysely_%' order by 1`.execute(db)
  return rows.map((row) => row.name)
}

/** The Postgres error code of a rejected statement (23514 check, 23503 foreign key, 23505 unique). */
async function rejection(work: Promise<unknown>): Promise<string> {
  try {
    await work
  } catch (error) {
    return (error as { code: string }).code
  }
  assert.fail('expected the database to refuse the row')
}

describe('database schema and migrations', () => {
  let database: { url: string; drop(): Promise<void> }
  let handle: ReturnType<typeof createDatabase>
  let db: Db
  const alice = randomUUID()
  const bob = randomUUID()

  before(async () => {
    database = await createTestDatabase()
    handle = createDatabase(database.url, createLogger({ level: 'silent', role: 'test' }))
    db = handle.db
    await migrateUp(db)
    await db
      .insertInto('users')
      .values([{ id: alice }, { id: bob }])
      .execute()
  })
  after(async () => {
    await handle.close()
    await database.drop()
  })

  it('creates every table PAM uses, and only those', async () => {
    assert.deepEqual(await tables(db), TABLES)
    assert.ok((await migrationStatus(db)).every((m) => m.executedAt))
  })

  it("writes a time as PostgreSQL's text exactly as a Date read from the same row would be", async () => {
    // Microseconds past the millisecond (truncated by both), a whole second, a leap day, a time
    // entered in another zone, and a year before 1000 (padded) and far ahead.
    const times = [
      '2026-12-06 22:46:55.999999+00',
      '2026-12-06 22:46:55+00',
      '2028-02-29 23:59:59.001+00',
      '2026-07-01 01:30:00.5-09:30',
      '0999-01-01 00:00:00+00',
      '9999-12-31 23:59:59.999+00',
    ]
    for (const time of times) {
      const { rows } = await sql<{ asDate: Date; asText: string }>`
        select t as "asDate", ${apiTime('t')} as "asText" from (select ${time}::timestamptz as t) s`.execute(db)
      const [row] = rows
      assert.ok(row)
      assert.equal(row.asText, toIso(row.asDate), time)
      assert.equal(toIso(row.asText), row.asText, `${time}: taken as it is`)
    }
  })

  it('refuses values outside their domain', async () => {
    const vehicle = await db
      .insertInto('vehicles')
      .values({ user_id: alice, name: 'Van', fuel_capacity_l: 80, consumption_l_per_100km: 11, odometer_km: 1000 })
      .returning('id')
      .executeTakeFirstOrThrow()
    const reading = (percent: number) =>
      db
        .insertInto('fuel_readings')
        .values({ user_id: alice, vehicle_id: vehicle.id, percent, observed_at: new Date() })
        .execute()
    assert.equal(await rejection(reading(100.5)), '23514')
    assert.equal(await rejection(reading(-1)), '23514')
    await reading(100)
    await reading(0)

    const signal = (confidence: number) =>
      db
        .insertInto('context_signals')
        .values({ user_id: alice, kind: 'location', value: 'Moab', confidence, observed_at: new Date() })
        .execute()
    assert.equal(await rejection(signal(1.01)), '23514')
    await signal(1)

    const expense = { user_id: alice, currency: 'USD', category: 'food', spent_at: new Date() }
    assert.equal(
      await rejection(
        db
          .insertInto('expenses')
          .values({ ...expense, amount: -0.01 })
          .execute(),
      ),
      '23514',
    )
    assert.equal(
      await rejection(
        db
          .insertInto('expenses')
          .values({ ...expense, amount: 5, currency: 'usd' })
          .execute(),
      ),
      '23514',
    )

    const item = { user_id: alice, vehicle_id: vehicle.id, name: 'Oil' }
    assert.equal(
      await rejection(
        db
          .insertInto('maintenance_items')
          .values({ ...item, interval_km: 0 })
          .execute(),
      ),
      '23514',
    )
    assert.equal(await rejection(db.insertInto('maintenance_items').values(item).execute()), '23514')
    await db
      .insertInto('maintenance_items')
      .values({ ...item, interval_days: 180 })
      .execute()

    const trip = {
      user_id: alice,
      name: 'Moab',
      destination_name: 'Moab',
      destination_lat: 38.57,
      destination_lon: -109.55,
      days: 4,
    }
    assert.equal(
      await rejection(
        db
          .insertInto('trips')
          .values({ ...trip, depart_from: '2026-12-10', depart_until: '2026-12-01' })
          .execute(),
      ),
      '23514',
    )
  })

  it("refuses a row that ties one user's data to another user's vehicle", async () => {
    const vehicle = await db
      .insertInto('vehicles')
      .values({ user_id: alice, name: 'Alice van', fuel_capacity_l: 70, consumption_l_per_100km: 10, odometer_km: 0 })
      .returning('id')
      .executeTakeFirstOrThrow()
    const code = await rejection(
      db
        .insertInto('fuel_readings')
        .values({ user_id: bob, vehicle_id: vehicle.id, percent: 50, observed_at: new Date() })
        .execute(),
    )
    assert.equal(code, '23503')
  })

  it('keeps one open alert per condition, and allows a new one once it is resolved', async () => {
    const alert = {
      user_id: alice,
      kind: 'fuel_low' as const,
      priority: 'medium' as const,
      title: 't',
      body: 'b',
      data: JSON.stringify({}),
      dedupe_key: 'fuel:van:20',
    }
    await db.insertInto('alerts').values(alert).execute()
    const again = await db
      .insertInto('alerts')
      .values(alert)
      .onConflict((oc) => oc.columns(['user_id', 'dedupe_key']).where('resolved_at', 'is', null).doNothing())
      .executeTakeFirst()
    assert.equal(again.numInsertedOrUpdatedRows, 0n)
    await db.updateTable('alerts').set({ resolved_at: new Date() }).where('dedupe_key', '=', alert.dedupe_key).execute()
    await db.insertInto('alerts').values(alert).execute()
    const { count } = await db
      .selectFrom('alerts')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .executeTakeFirstOrThrow()
    assert.equal(Number(count), 2)
  })

  it("removes a traveller's deliveries with them, through their alerts", async () => {
    const carol = randomUUID()
    await db.insertInto('users').values({ id: carol }).execute()
    const alert = await db
      .insertInto('alerts')
      .values({
        user_id: carol,
        kind: 'fuel_low',
        priority: 'medium',
        title: 't',
        body: 'b',
        data: '{}',
        dedupe_key: 'fuel:c',
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    await db
      .insertInto('deliveries')
      .values(
        (['email', 'push'] as const).map((channel) => ({
          alert_id: alert.id,
          user_id: carol,
          channel,
          status: 'queued' as const,
        })),
      )
      .execute()
    await db.deleteFrom('users').where('id', '=', carol).execute()
    const left = await db.selectFrom('deliveries').select('id').where('user_id', '=', carol).execute()
    assert.deepEqual(left, [])
  })

  it('migrates down and up again on a database with data in it', async () => {
    const names = (await migrationStatus(db)).map((m) => m.name)
    for (const name of [...names].reverse()) assert.deepEqual(await migrateDown(db), [`Down ${name}`])
    assert.deepEqual(await tables(db), [])
    assert.deepEqual(
      await migrateUp(db),
      names.map((name) => `Up ${name}`),
    )
    assert.deepEqual(await tables(db), TABLES)
    assert.deepEqual(await migrateUp(db), [])
  })
})
