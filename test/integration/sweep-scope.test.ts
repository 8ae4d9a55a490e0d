import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { sql } from 'kysely'
import { type MonitorName, monitorNamed } from '../../src/monitoring/registry.js'
import type { AlertKind } from '../../src/platform/db/schema.js'
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
    const task = monitorNamed(monitor)?.tasks.sweep
    assert.ok(task, `${monitor} is registered`)
    await stack.producer.enqueue(task, {})
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

  /** The users among `userIds` still marked for `monitor`. */
  const waitingFor = async (monitor: MonitorName, userIds: readonly string[]) =>
    (
      await db()
        .selectFrom('evaluation_marks')
        .select('user_id')
        .where('monitor', '=', monitor)
        .where('user_id', 'in', userIds)
        .execute()
    ).map((row) => row.user_id)

  /** A reading written with plain SQL, as a data loader or an operator's correction writes it. */
  const readingBySql = (userId: string, vehicleId: string, percent: number) =>
    sql`insert into fuel_readings (user_id, vehicle_id, percent) values (${userId}, ${vehicleId}, ${percent})`.execute(
      db(),
    )

  it('a row written with plain SQL is evaluated by the next sweep: 1,000 low readings in one statement', async () => {
    // 250 travellers with four vans each, loaded with SQL as a telematics import would.
    const { rows: users } = await sql<{ id: string }>`
      insert into users (id) select gen_random_uuid() from generate_series(1, 250) returning id`.execute(db())
    const ids = users.map((user) => user.id)
    await sql`insert into vehicles (user_id, name, fuel_capacity_l, consumption_l_per_100km, odometer_km)
              select u, 'van ' || n, 80, 12.5, 60000 from unnest(${ids}::uuid[]) u, generate_series(1, 4) n`.execute(
      db(),
    )
    const first = await sweep('fuel')
    assert.equal(first.scope, 'full', 'the first sweep looks at every candidate')

    await sql`insert into fuel_readings (user_id, vehicle_id, percent)
              select user_id, id, 7 from vehicles where user_id = any(${ids}::uuid[])`.execute(db())
    const run = await sweep('fuel')
    assert.equal(run.scope, 'changed')
    assert.equal(run.users_evaluated, 250, 'every traveller the load wrote to was marked')
    const open = await db()
      .selectFrom('alerts')
      .select(({ fn }) => fn.countAll<string>().as('count'))
      .where('user_id', 'in', ids)
      .where('kind', '=', 'fuel_low')
      .where('resolved_at', 'is', null)
      .executeTakeFirstOrThrow()
    assert.equal(Number(open.count), 1_000, 'an alert for each of the 1,000 low readings')
    assert.deepEqual(await waitingFor('fuel', ids), [], 'the sweep cleared their fuel marks')
    // The pages' delivery jobs decide each alert's channels after the run has closed: until they
    // have, deleting their travellers would race their inserts (a deadlock, on a loaded machine).
    await eventually(
      async () => {
        const decided = await db()
          .selectFrom('deliveries')
          .select(({ fn }) => fn.count<string>('alert_id').distinct().as('alerts'))
          .where('user_id', 'in', ids)
          .executeTakeFirstOrThrow()
        return Number(decided.alerts) === 1_000 ? true : undefined
      },
      60_000,
      "every alert's delivery decided",
    )
    // The pages' outcome is their run's counts: none of them is kept once done, the sweep's job is.
    const fuel = monitorNamed('fuel')
    assert.ok(fuel)
    const queue = stack.producer.queues.get(fuel.queue)
    const named = (name: string, jobs: { name: string; id?: string }[] = []) =>
      jobs.filter((job) => job.name === name).map((job) => job.id)
    await eventually(
      async () =>
        named(fuel.tasks.page, await queue?.getJobs(['active', 'waiting', 'prioritized'])).length ? undefined : true,
      60_000,
      'the pages to finish',
    )
    const done = await queue?.getCompleted(0, 999)
    assert.ok(named(fuel.tasks.sweep, done).length >= 2, "the sweeps' jobs are kept")
    assert.deepEqual(named(fuel.tasks.page, done), [], 'no page is')
    // No model is configured here: none of the 1,000 high alerts queued a text job that could only keep its template.
    const notifications = stack.producer.queues.get('notifications')
    const texts = await notifications?.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'])
    assert.deepEqual(named('ai.alert-text', texts), [])
    // Their vans are marked for maintenance too: gone, so the next tests' sweeps see only their own.
    await db().deleteFrom('users').where('id', 'in', ids).execute()
  })

  it('after a full sweep, the next reads only the users writes marked; other rules mean a full sweep again', async () => {
    const a = await travellerWithVehicle()
    const b = await travellerWithVehicle()
    // Whatever their vans' own evaluations left marked is read by the first.
    await sweep('fuel')

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

    // A write whose evaluation job was lost (no worker drained it yet): its mark was written with it.
    await readingBySql(a.id, a.vehicleId, 5)
    const marked = await sweep('fuel')
    assert.deepEqual({ scope: marked.scope, users: marked.users_evaluated }, { scope: 'changed', users: 1 })
    assert.deepEqual(await openAlerts(a.id, 'fuel_low'), ['high'])
    assert.deepEqual(await waitingFor('fuel', [a.id]), [], 'the evaluation cleared the mark')

    // The runs so far applied other rules (another rule version or other thresholds, before a deploy).
    await db().updateTable('monitor_runs').set({ rules: '{"rule":0}' }).where('monitor', '=', 'fuel').execute()
    await readingBySql(b.id, b.vehicleId, 15)
    await db().deleteFrom('evaluation_marks').where('user_id', '=', b.id).execute()
    const afterDeploy = await sweep('fuel')
    assert.equal(afterDeploy.scope, 'full')
    assert.deepEqual(
      await openAlerts(b.id, 'fuel_low'),
      ['medium'],
      'a full sweep reads every candidate, marked or not',
    )
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
