import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import { sql } from 'kysely'
import { claimDeliveries, deliveryContexts } from '../../src/delivery/delivery-repository.js'
import { applyEvaluation } from '../../src/monitoring/alerts/alert-store.js'
import { readSeen } from '../../src/monitoring/evaluation-mark-repository.js'
import { loadFuelSnapshots } from '../../src/monitoring/monitors/fuel/snapshot.js'
import { fuelReadings } from '../../src/travellers/vehicles/fuel-reading-repository.js'
import { type ApiHarness, client, startApiHarness, userToken, VEHICLE } from '../helpers/api.js'
import { inBothModes } from '../helpers/harness.js'
import { fuelDraft } from '../helpers/stream.js'

inBothModes('list pages as prepared statements', (mode) => {
  let api: ApiHarness

  before(async () => {
    api = await startApiHarness(mode)
  })
  after(async () => {
    await api?.close()
  })

  it('keeps answering when a migration changes the listed table under a running API', async () => {
    const call = client(api.app, await userToken(randomUUID()))
    assert.equal((await call('POST', '/v1/vehicles', VEHICLE)).status, 201)
    // Every pooled connection prepares the list statement, and the insert of a write run alone.
    for (let i = 0; i < 20; i++) assert.equal((await call('GET', '/v1/vehicles')).status, 200)
    await Promise.all(Array.from({ length: 20 }, () => call('POST', '/v1/vehicles', VEHICLE)))
    const db = api.harness.deps.db
    await sql`alter table vehicles add column prepared_test_extra integer`.execute(db)
    try {
      // PostgreSQL refuses the prepared `select *` once ("cached plan must not change result type").
      for (let i = 0; i < 20; i++) {
        const listed = await call('GET', '/v1/vehicles?limit=100')
        assert.equal(listed.status, 200, JSON.stringify(listed.body))
        assert.equal(listed.body.items.length, 21)
      }
      // And the prepared insert's `returning *` ("cached plan must not change result type") too.
      const added = await Promise.all(Array.from({ length: 20 }, () => call('POST', '/v1/vehicles', VEHICLE)))
      assert.deepEqual(
        added.map((response) => response.status),
        added.map(() => 201),
      )
    } finally {
      await sql`alter table vehicles drop column prepared_test_extra`.execute(db)
    }
    assert.equal((await call('GET', '/v1/vehicles')).status, 200)
  })
  it("plans a write's statements once per connection, not at every run", async () => {
    const userId = randomUUID()
    const call = client(api.app, await userToken(userId))
    const vehicle = await call('POST', '/v1/vehicles', VEHICLE)
    assert.equal(vehicle.status, 201)
    assert.equal((await call('POST', `/v1/vehicles/${vehicle.body.id}/fuel-readings`, { percent: 12 })).status, 201)
    const db = api.harness.deps.db
    const condition = `fuel:${vehicle.body.id}`
    const { created } = await applyEvaluation(db, userId, { conditions: [condition], drafts: [fuelDraft(condition)] })
    const alertId = created[0]?.id
    assert.ok(alertId)
    // One connection, so that its prepared statements can be read back: PostgreSQL makes five plans
    // for a statement's values first, then keeps its plan made without them if that is no dearer.
    const plans = await db.connection().execute(async (session) => {
      for (let run = 0; run < 12; run++) {
        await fuelReadings.create(session, userId, { vehicleId: vehicle.body.id, percent: 12 })
        // Another condition opened and resolved in turn: the alert store's statement.
        const other = 'fuel:another-vehicle'
        await applyEvaluation(session, userId, { conditions: [other], drafts: run % 2 === 0 ? [fuelDraft(other)] : [] })
        await readSeen(session, 'fuel', 'fuel_low', [userId])
        const snapshots = await loadFuelSnapshots(session, [userId], new Map([[userId, []]]))
        assert.equal(snapshots.get(userId)?.vehicles[0]?.reading?.percent, 12)
        assert.equal((await deliveryContexts(session, [alertId], { now: new Date(), emailCap: 5 })).length, 1)
        await claimDeliveries(session, 'prepared-statements-test', [
          { alertId, userId, channel: 'email', settlement: { status: 'suppressed', reason: 'no address' } },
          { alertId, userId, channel: 'push', settlement: { status: 'suppressed', reason: 'no subscription' } },
        ])
      }
      const prepared = async () => {
        const { rows } = await sql<{ statement: string; generic_plans: string; custom_plans: string }>`
          select statement, generic_plans, custom_plans from pg_prepared_statements`.execute(session)
        return rows
      }
      // Each run of a prepared statement uses one plan. Inside a transaction (a write with an
      // Idempotency-Key) the insert is not prepared: a statement a migration made stale could not
      // be prepared afresh and run again there.
      const insertRuns = async () => {
        const insert = (await prepared()).find((plan) => plan.statement.includes('insert into "fuel_readings"'))
        return Number(insert?.generic_plans ?? 0) + Number(insert?.custom_plans ?? 0)
      }
      const alone = await insertRuns()
      assert.ok(alone >= 12, `the insert run alone prepared: ${alone} runs`)
      await session
        .transaction()
        .execute((trx) => fuelReadings.create(trx, userId, { vehicleId: vehicle.body.id, percent: 12 }))
      assert.equal(await insertRuns(), alone, 'the insert in a transaction ran as a prepared statement')
      return prepared()
    })
    for (const fragment of [
      'insert into "fuel_readings"',
      'left join evaluation_marks m',
      'with locked as materialized',
      '"fuel_readings" as "r"',
      'from notification_settings s',
      'insert into deliveries as d',
    ]) {
      const statement = plans.find((plan) => plan.statement.includes(fragment))
      assert.ok(statement, `no prepared statement reads ${fragment}`)
      assert.ok(
        Number(statement.custom_plans) <= 5 && Number(statement.generic_plans) >= 7,
        `${fragment}: ${statement.custom_plans} runs planned for their values, ${statement.generic_plans} on the plan made once`,
      )
    }
  })
})
