import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { type ApiHarness, type Client, client, startApiHarness, userToken, VEHICLE } from '../helpers/api.js'

describe('tenant isolation', () => {
  let api: ApiHarness
  let alice: Client
  let bob: Client
  const ids: Record<string, string> = {}

  before(async () => {
    api = await startApiHarness('postgres')
    const aliceId = randomUUID()
    alice = client(api.app, await userToken(aliceId))
    bob = client(api.app, await userToken())
    ids.vehicle = (await alice('POST', '/v1/vehicles', VEHICLE)).body.id
    ids.reading = (await alice('POST', `/v1/vehicles/${ids.vehicle}/fuel-readings`, { percent: 30 })).body.id
    ids.item = (
      await alice('POST', `/v1/vehicles/${ids.vehicle}/maintenance-items`, { name: 'Tyres', intervalKm: 40_000 })
    ).body.id
    ids.budget = (await alice('POST', '/v1/budgets', { amount: 300, currency: 'USD', period: 'week' })).body.id
    ids.expense = (
      await alice('POST', '/v1/expenses', {
        amount: 12,
        currency: 'USD',
        category: 'food',
        spentAt: new Date().toISOString(),
      })
    ).body.id
    ids.trip = (
      await alice('POST', '/v1/trips', {
        name: 'Coast',
        destination: { name: 'Big Sur', lat: 36.27, lon: -121.8 },
        departFrom: '2027-06-01',
        departUntil: '2027-06-15',
        days: 5,
      })
    ).body.id
    ids.alert = (
      await api.harness.deps.db
        .insertInto('alerts')
        .values({
          user_id: aliceId,
          kind: 'fuel_low',
          priority: 'medium',
          title: 'Fuel low',
          body: 'Fuel at 15 %',
          data: JSON.stringify({ threshold: 20 }),
          dedupe_key: 'fuel',
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id
    for (const [name, id] of Object.entries(ids)) assert.ok(id, `alice's ${name} was created`)
  })
  after(() => api.close())

  const routes = (id: Record<string, string>): [string, 'GET' | 'POST' | 'PATCH' | 'DELETE', string, unknown?][] => [
    ['read a vehicle', 'GET', `/v1/vehicles/${id.vehicle}`],
    ['change a vehicle', 'PATCH', `/v1/vehicles/${id.vehicle}`, { name: 'Mine now' }],
    ['delete a vehicle', 'DELETE', `/v1/vehicles/${id.vehicle}`],
    ['add a fuel reading', 'POST', `/v1/vehicles/${id.vehicle}/fuel-readings`, { percent: 5 }],
    ['list fuel readings', 'GET', `/v1/vehicles/${id.vehicle}/fuel-readings`],
    ['add a maintenance item', 'POST', `/v1/vehicles/${id.vehicle}/maintenance-items`, { name: 'X', intervalDays: 1 }],
    ['list maintenance items', 'GET', `/v1/vehicles/${id.vehicle}/maintenance-items`],
    ['read a maintenance item', 'GET', `/v1/maintenance-items/${id.item}`],
    ['change a maintenance item', 'PATCH', `/v1/maintenance-items/${id.item}`, { name: 'Mine' }],
    ['delete a maintenance item', 'DELETE', `/v1/maintenance-items/${id.item}`],
    [
      'service a maintenance item',
      'POST',
      `/v1/maintenance-items/${id.item}/service`,
      { doneAt: '2026-11-01T00:00:00Z', odometerKm: 99_999 },
    ],
    ['read a budget', 'GET', `/v1/budgets/${id.budget}`],
    ['read a budget status', 'GET', `/v1/budgets/${id.budget}/status`],
    ['change a budget', 'PATCH', `/v1/budgets/${id.budget}`, { amount: 1 }],
    ['delete a budget', 'DELETE', `/v1/budgets/${id.budget}`],
    ['read an expense', 'GET', `/v1/expenses/${id.expense}`],
    ['change an expense', 'PATCH', `/v1/expenses/${id.expense}`, { amount: 1 }],
    ['delete an expense', 'DELETE', `/v1/expenses/${id.expense}`],
    ['read a trip', 'GET', `/v1/trips/${id.trip}`],
    ['change a trip', 'PATCH', `/v1/trips/${id.trip}`, { status: 'cancelled' }],
    ['delete a trip', 'DELETE', `/v1/trips/${id.trip}`],
    ['read an alert', 'PATCH', `/v1/alerts/${id.alert}`, { read: true }],
    ['dismiss an alert', 'PATCH', `/v1/alerts/${id.alert}`, { dismissed: true }],
  ]

  it("answers another user's ids exactly as ids that do not exist, on every route and method", async () => {
    const missing = Object.fromEntries(Object.keys(ids).map((key) => [key, randomUUID()]))
    const theirs = routes(ids)
    const nowhere = routes(missing)
    for (const [index, [what, method, url, body]] of theirs.entries()) {
      const response = await bob(method, url, body)
      const [, , missingUrl, missingBody] = nowhere[index] ?? []
      const control = await bob(method, missingUrl ?? '', missingBody)
      assert.equal(response.status, 404, `${what}: ${method} ${url} → ${response.status}`)
      assert.deepEqual(response.body, control.body, `${what}: the same answer as for a missing id`)
    }
  })

  it("never lists another user's rows, and read-all leaves them alone", async () => {
    for (const url of ['/v1/vehicles', '/v1/budgets', '/v1/expenses', '/v1/trips', '/v1/alerts?status=all']) {
      const list = await bob('GET', url)
      assert.equal(list.status, 200)
      assert.deepEqual(list.body.items, [], `${url} is empty for bob`)
    }
    assert.equal((await bob('POST', '/v1/alerts/read-all')).body.updated, 0)
  })

  it("leaves alice's data exactly as it was", async () => {
    assert.equal((await alice('GET', `/v1/vehicles/${ids.vehicle}`)).body.name, VEHICLE.name)
    assert.equal((await alice('GET', `/v1/vehicles/${ids.vehicle}`)).body.odometerKm, VEHICLE.odometerKm)
    assert.equal((await alice('GET', `/v1/vehicles/${ids.vehicle}/fuel-readings`)).body.items.length, 1)
    assert.equal((await alice('GET', `/v1/maintenance-items/${ids.item}`)).body.lastDoneKm, null)
    assert.equal((await alice('GET', `/v1/budgets/${ids.budget}`)).body.amount, 300)
    assert.equal((await alice('GET', `/v1/expenses/${ids.expense}`)).body.amount, 12)
    assert.equal((await alice('GET', `/v1/trips/${ids.trip}`)).body.status, 'planned')
    const [alert] = (await alice('GET', '/v1/alerts')).body.items
    assert.equal(alert.id, ids.alert)
    assert.equal(alert.readAt, null)
    assert.equal(alert.dismissedAt, null)
  })
})
