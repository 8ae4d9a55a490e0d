import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type ApiHarness, type Client, client, startApiHarness, userToken, VEHICLE } from '../helpers/api.js'

// Validation is the same in both modes (no queue or Redis is involved in refusing a body).
describe('JSON bodies are never coerced', () => {
  let api: ApiHarness
  let call: Client
  let vehicleId: string

  before(async () => {
    api = await startApiHarness('postgres')
    call = client(api.app, await userToken())
    vehicleId = (await call('POST', '/v1/vehicles', VEHICLE)).body.id
  })
  after(() => api.close())

  const readingCount = async () =>
    (await call('GET', `/v1/vehicles/${vehicleId}/fuel-readings?limit=200`)).body.items.length

  const fieldsOf = (body: { details?: Array<{ field: string }> }) => (body.details ?? []).map((d) => d.field).sort()

  it('refuses a fuel percent of null, true, "50" or [50]: nothing stored, no alert', async () => {
    for (const percent of [null, true, '50', [50]]) {
      const refused = await call('POST', `/v1/vehicles/${vehicleId}/fuel-readings`, { percent })
      assert.equal(refused.status, 400, `percent ${JSON.stringify(percent)}`)
      assert.deepEqual(fieldsOf(refused.body), ['percent'], `percent ${JSON.stringify(percent)}`)
    }
    assert.equal(await readingCount(), 0)
    assert.equal((await call('GET', '/v1/alerts?status=all')).body.items.length, 0)
  })

  it('refuses null coordinates instead of storing 0,0 (readings, context signals, home)', async () => {
    const reading = await call('POST', `/v1/vehicles/${vehicleId}/fuel-readings`, { percent: 60, lat: null, lon: null })
    assert.equal(reading.status, 400)
    assert.deepEqual(fieldsOf(reading.body), ['lat', 'lon'])
    assert.equal(await readingCount(), 0)

    const signal = await call('POST', '/v1/context-signals', {
      kind: 'location',
      value: 'Moab',
      confidence: 0.9,
      lat: null,
      lon: null,
    })
    assert.equal(signal.status, 400)
    assert.deepEqual(fieldsOf(signal.body), ['lat', 'lon'])

    const home = { lat: 38.57, lon: -109.55 }
    assert.equal((await call('PATCH', '/v1/me', { home })).status, 200)
    const nullHome = await call('PATCH', '/v1/me', { home: { lat: null, lon: null } })
    assert.equal(nullHome.status, 400)
    assert.ok(
      fieldsOf(nullHome.body).every((field) => field.startsWith('home')),
      JSON.stringify(nullHome.body),
    )
    assert.deepEqual((await call('GET', '/v1/me')).body.home, home)
    // The contract makes home nullable: null clears it.
    assert.equal((await call('PATCH', '/v1/me', { home: null })).body.home, null)
  })

  it('takes null as "clear it" where the contract allows it, never as 0 or ""', async () => {
    const item = await call('POST', `/v1/vehicles/${vehicleId}/maintenance-items`, {
      name: 'Oil change',
      intervalKm: 10_000,
      lastDoneKm: null,
      costEstimate: null,
    })
    assert.equal(item.status, 201)
    assert.equal(item.body.lastDoneKm, null)
    assert.equal(item.body.costEstimate, null)
    const changed = await call('PATCH', `/v1/maintenance-items/${item.body.id}`, {
      lastDoneKm: 50_000,
      costEstimate: 80,
    })
    assert.equal(changed.body.lastDoneKm, 50_000)
    const cleared = await call('PATCH', `/v1/maintenance-items/${item.body.id}`, {
      lastDoneKm: null,
      costEstimate: null,
    })
    assert.equal(cleared.status, 200)
    assert.equal(cleared.body.lastDoneKm, null)
    assert.equal(cleared.body.costEstimate, null)

    const expense = await call('POST', '/v1/expenses', {
      amount: 12.5,
      currency: 'USD',
      category: 'food',
      spentAt: '2026-11-01T12:00:00Z',
      note: null,
    })
    assert.equal(expense.status, 201)
    assert.equal(expense.body.note, null)
  })

  it('refuses null where the contract does not make a field nullable, changing nothing', async () => {
    const odometer = await call('PATCH', `/v1/vehicles/${vehicleId}`, { odometerKm: null })
    assert.equal(odometer.status, 400)
    assert.deepEqual(fieldsOf(odometer.body), ['odometerKm'])
    assert.equal((await call('GET', `/v1/vehicles/${vehicleId}`)).body.odometerKm, VEHICLE.odometerKm)

    const name = await call('PATCH', `/v1/vehicles/${vehicleId}`, { name: 42, fuelCapacityL: '80' })
    assert.equal(name.status, 400)
    assert.deepEqual(fieldsOf(name.body), ['fuelCapacityL', 'name'])
  })

  it('still coerces the query string, where everything arrives as text', async () => {
    const page = await call('GET', '/v1/alerts?limit=5&unread=true')
    assert.equal(page.status, 200)
  })
})
