import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { sql } from 'kysely'
import type { AlertKind } from '../../src/db/schema.js'
import { markForEvaluation } from '../../src/evaluations/evaluation-mark-repository.js'
import { MONITORS, type MonitorName } from '../../src/monitors/registry.js'
import { type AlertStack, startAlertStack } from '../helpers/alert-stack.js'
import { VEHICLE } from '../helpers/api.js'
import { startFakeOverpass } from '../helpers/fake-overpass.js'
import { eventually, inBothModes } from '../helpers/harness.js'

const DAY_MS = 86_400_000

inBothModes('sweeps visit what changed', (mode) => {
  let overpass: Awaited<ReturnType<typeof startFakeOverpass>>
  let stack: AlertStack

  before(async () => {
    overpass = await startFakeOverpass()
    stack = await startAlertStack(mode, { PLACES_API_URL: overpass.url })
  })
  after(async () => {
    await stack.close()
    await overpass.close()
  })

  const db = () => stack.harness.deps.db

  /** Runs one sweep of `monitor` and waits until its run has closed. */
  async function sweep(monitor: MonitorName) {
    const earlier = await db().selectFrom('monitor_runs').select('id').where('monitor', '=', monitor).execute()
    await stack.producer.enqueue(MONITORS[monitor].tasks.sweep, {})
    return eventually(
      async () =>
        (await db()
          .selectFrom('monitor_runs')
          .selectAll()
          .where('monitor', '=', monitor)
          .where('finished_at', 'is not', null)
          .$if(earlier.length > 0, (q) =>
            q.where(
              'id',
              'not in',
              earlier.map((run) => run.id),
            ),
          )
          .executeTakeFirst()) ?? undefined,
      60_000,
      `a finished ${monitor} run`,
    )
  }

  const openAlerts = async (userId: string, kind: AlertKind) =>
    (
      await db()
        .selectFrom('alerts')
        .select('priority')
        .where('user_id', '=', userId)
        .where('kind', '=', kind)
        .where('resolved_at', 'is', null)
        .execute()
    ).map((alert) => alert.priority)

  /** A traveller made through the API, with a vehicle; the stream is not needed here. */
  async function travellerWithVehicle() {
    const { id, call, stream } = await stack.traveller()
    stream.close()
    const vehicle = (await call('POST', '/v1/vehicles', VEHICLE)).body
    return { id, call, vehicleId: vehicle.id as string }
  }

  /** A reading stored behind PAM's back: no write marks it, so only a sweep that reads every candidate finds it. */
  const unmarkedReading = (userId: string, vehicleId: string, percent: number) =>
    sql`insert into fuel_readings (user_id, vehicle_id, percent) values (${userId}, ${vehicleId}, ${percent})`.execute(
      db(),
    )

  it('after a full sweep, the next reads only the users writes marked; other rules mean a full sweep again', async () => {
    const a = await travellerWithVehicle()
    const b = await travellerWithVehicle()
    const full = await sweep('fuel')
    assert.equal(full.scope, 'full', 'the first sweep looks at every candidate')

    await unmarkedReading(a.id, a.vehicleId, 5)
    const unchanged = await sweep('fuel')
    assert.deepEqual(
      {
        scope: unchanged.scope,
        pages: unchanged.pages_total,
        users: unchanged.users_evaluated,
        status: unchanged.status,
      },
      { scope: 'changed', pages: 0, users: 0, status: 'succeeded' },
      'nothing marked: no page, no user read',
    )
    assert.deepEqual(await openAlerts(a.id, 'fuel_low'), [], 'an unmarked change is not read')

    // What a write does in its transaction; its evaluation job was lost (no worker drained it yet).
    await markForEvaluation(db(), a.id, ['fuel'])
    const marked = await sweep('fuel')
    assert.deepEqual({ scope: marked.scope, users: marked.users_evaluated }, { scope: 'changed', users: 1 })
    assert.deepEqual(await openAlerts(a.id, 'fuel_low'), ['high'])
    const left = await db().selectFrom('evaluation_marks').select('user_id').where('user_id', '=', a.id).execute()
    assert.deepEqual(left, [], 'the evaluation cleared the mark')

    // The runs so far applied other rules (another rule version or other thresholds, before a deploy).
    await db().updateTable('monitor_runs').set({ rules: '{"rule":0}' }).where('monitor', '=', 'fuel').execute()
    await unmarkedReading(b.id, b.vehicleId, 15)
    const afterDeploy = await sweep('fuel')
    assert.equal(afterDeploy.scope, 'full')
    assert.deepEqual(await openAlerts(b.id, 'fuel_low'), ['medium'], 'a full sweep reads every candidate')
  })

  it('visits a maintenance item that came due with time alone, and no other', async () => {
    const dueWithinDays = stack.harness.deps.config.MAINTENANCE_DUE_WITHIN_DAYS
    const soon = await travellerWithVehicle()
    const later = await travellerWithVehicle()
    const item = { name: 'Inspection', intervalDays: 365 }
    const itemId = (await soon.call('POST', `/v1/vehicles/${soon.vehicleId}/maintenance-items`, item)).body.id
    await later.call('POST', `/v1/vehicles/${later.vehicleId}/maintenance-items`, item)
    const first = await sweep('maintenance')
    assert.deepEqual(await openAlerts(soon.id, 'maintenance_due'), [])

    // Time passes: the item's cycle began so long ago that it came within `dueWithinDays` of its
    // date after the last sweep began.
    const comesDueAt = new Date((first.started_at.getTime() + Date.now()) / 2)
    const cycleStart = new Date(comesDueAt.getTime() - (365 - dueWithinDays) * DAY_MS)
    await sql`update maintenance_items set created_at = ${cycleStart} where id = ${itemId}`.execute(db())
    const run = await sweep('maintenance')
    assert.deepEqual({ scope: run.scope, users: run.users_evaluated }, { scope: 'changed', users: 1 })
    assert.deepEqual(await openAlerts(soon.id, 'maintenance_due'), ['medium'])
  })

  it("counts an expense booked last week for this week when this week's budget period begins", async () => {
    const { id, call } = await travellerWithVehicle()
    await call('POST', '/v1/budgets', { category: 'ferry', amount: 100, currency: 'EUR', period: 'week' })
    await sweep('budget')
    // The last sweep ran before this week began, and the expense was written then, dated now:
    // no write happens when the week begins.
    await sql`update monitor_runs set started_at = now() - interval '8 days' where monitor = 'budget'`.execute(db())
    await sql`
      insert into expenses (user_id, amount, currency, category, spent_at, created_at)
      values (${id}, 85, 'EUR', 'ferry', now(), now() - interval '9 days')`.execute(db())
    const run = await sweep('budget')
    assert.deepEqual({ scope: run.scope, users: run.users_evaluated }, { scope: 'changed', users: 1 })
    assert.deepEqual(await openAlerts(id, 'budget_threshold'), ['high'])
  })
})
