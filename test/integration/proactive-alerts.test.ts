import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Producer } from '../../src/jobs/producer.js'
import { type AlertStack, startAlertStack } from '../helpers/alert-stack.js'
import { VEHICLE } from '../helpers/api.js'
import { startFakeOverpass } from '../helpers/fake-overpass.js'
import { eventually, type Harness, inBothModes } from '../helpers/harness.js'
import type { StreamClient } from '../helpers/stream.js'

const MOAB = { lat: 38.57, lon: -109.55 }
// biome-ignore lint/suspicious/noExplicitAny: alerts arrive as JSON and are read field by field
type Message = Record<string, any>

inBothModes('proactive alerts end to end', (mode) => {
  let overpass: Awaited<ReturnType<typeof startFakeOverpass>>
  let stack: AlertStack
  let harness: Harness
  let producer: Producer

  before(async () => {
    overpass = await startFakeOverpass()
    stack = await startAlertStack(mode, { PLACES_API_URL: overpass.url })
    ;({ harness, producer } = stack)
  })
  after(async () => {
    await stack.close()
    await overpass.close()
  })

  const traveller = () => stack.traveller()
  const created = (stream: StreamClient, from: number, match: (alert: Message) => boolean) =>
    stream.next(
      (m) => m.type === 'alert.created' && match(m.alert as Message) && stream.messages.indexOf(m) >= from,
      10_000,
    )

  it('fuel: 15 % → medium with range and stations; again → nothing; 8 % → high; 90 % → resolved', async () => {
    const { call, stream } = await traveller()
    const vehicle = (await call('POST', '/v1/vehicles', VEHICLE)).body
    const reading = (percent: number) => call('POST', `/v1/vehicles/${vehicle.id}/fuel-readings`, { percent, ...MOAB })
    try {
      await reading(15)
      const medium = (await created(stream, 0, (a) => a.priority === 'medium')).alert as Message
      assert.equal(medium.kind, 'fuel_low')
      assert.equal(medium.data.vehicleId, vehicle.id)
      assert.equal(medium.data.rangeKm, 96)
      assert.equal(medium.data.threshold, 20)
      assert.equal(medium.data.ruleVersion, 2)
      assert.deepEqual(
        medium.data.stations.map((s: Message) => s.name),
        ['fuel one', 'fuel two', 'fuel three'],
      )

      const seen = stream.messages.length
      await reading(15)
      await sleep(1_000)
      assert.deepEqual(stream.messages.slice(seen), [], 'the same reading again changes nothing')

      await reading(8)
      const high = (await created(stream, seen, (a) => a.priority === 'high')).alert as Message
      assert.equal(high.data.threshold, 10)
      await stream.next((m) => m.type === 'alert.resolved' && m.alertId === medium.id)

      await reading(90)
      await stream.next((m) => m.type === 'alert.resolved' && m.alertId === high.id, 10_000)
      assert.equal((await call('GET', '/v1/alerts?kind=fuel_low')).body.items.length, 0)
    } finally {
      stream.close()
    }
  })

  it('budget: crossing 80 % → high, then 95 % → urgent with the high one resolved', async () => {
    const { call, stream } = await traveller()
    const budget = (
      await call('POST', '/v1/budgets', { category: 'food', amount: 500, currency: 'USD', period: 'month' })
    ).body
    const spend = (amount: number) =>
      call('POST', '/v1/expenses', { amount, currency: 'USD', category: 'food', spentAt: new Date().toISOString() })
    try {
      await spend(300)
      await sleep(500)
      await spend(110)
      const high = (await created(stream, 0, (a) => a.priority === 'high')).alert as Message
      assert.equal(high.kind, 'budget_threshold')
      assert.equal(high.data.budgetId, budget.id)
      assert.equal(high.data.spent, 410)
      assert.equal(high.data.remaining, 90)
      assert.deepEqual(high.data.topCategories, [{ category: 'food', spent: 410 }])
      await spend(70)
      const urgentMessage = await created(stream, 0, (a) => a.priority === 'urgent')
      const urgent = urgentMessage.alert as Message
      assert.equal(urgent.data.spent, 480)
      await stream.next((m) => m.type === 'alert.resolved' && m.alertId === high.id)
      const expense = (await call('GET', '/v1/expenses?limit=1')).body.items[0]
      // Deleting an expense re-evaluates: 410 of 500 is high again.
      await call('DELETE', `/v1/expenses/${expense.id}`)
      await created(stream, stream.messages.indexOf(urgentMessage) + 1, (a) => a.priority === 'high')
    } finally {
      stream.close()
    }
  })

  it('creates the alert without stations when the places provider is down, and counts the failure', async () => {
    const { call, stream } = await traveller()
    const vehicle = (await call('POST', '/v1/vehicles', VEHICLE)).body
    overpass.state.down = true
    try {
      // A position no earlier test cached.
      await call('POST', `/v1/vehicles/${vehicle.id}/fuel-readings`, { percent: 12, lat: 40.1, lon: -105.3 })
      const alert = (await created(stream, 0, (a) => a.kind === 'fuel_low')).alert as Message
      assert.equal(alert.data.stationsUnavailable, true)
      assert.deepEqual(alert.data.stations, [])
      const failures = await harness.deps.metrics.providerFailures.get()
      assert.ok((failures.values[0]?.value ?? 0) >= 1)
    } finally {
      overpass.state.down = false
      stream.close()
    }
  })

  it('makes exactly one alert from twenty concurrent evaluations of one user', async () => {
    const { id, call, stream } = await traveller()
    stream.close()
    const vehicle = (await call('POST', '/v1/vehicles', VEHICLE)).body
    await call('POST', `/v1/vehicles/${vehicle.id}/fuel-readings`, { percent: 5 })
    // Twenty jobs, not deduplicated, run by four concurrent worker slots.
    const jobs = await Promise.all(
      Array.from({ length: 20 }, () => producer.enqueue('monitor.fuel.evaluate', { userId: id })),
    )
    const queue = producer.queues.get('notifications')
    await eventually(
      async () =>
        (await Promise.all(jobs.map((job) => queue?.getJobState(job.id)))).every((state) => state === 'completed')
          ? true
          : undefined,
      15_000,
      'twenty evaluations',
    )
    const open = await harness.deps.db
      .selectFrom('alerts')
      .select('priority')
      .where('user_id', '=', id)
      .where('resolved_at', 'is', null)
      .execute()
    assert.deepEqual(open, [{ priority: 'high' }])
  })

  it('sweeps in pages and records the run', async () => {
    await producer.enqueue('monitor.fuel.sweep', {})
    const run = await eventually(
      async () =>
        (await harness.deps.db
          .selectFrom('monitor_runs')
          .selectAll()
          .where('monitor', '=', 'fuel')
          .where('finished_at', 'is not', null)
          .executeTakeFirst()) ?? undefined,
      15_000,
      'a finished fuel run',
    )
    assert.equal(run.status, 'succeeded')
    assert.ok(run.users_evaluated >= 1, `${run.users_evaluated} users`)
    assert.equal(run.pages_done, run.pages_total)
  })
})
