import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import Value from 'typebox/value'
import { alertSchema } from '../../src/http/routes/v1/alerts.js'
import { alertKinds } from '../../src/monitoring/registry.js'
import { type ApiHarness, type Client, client, startApiHarness, userToken, VEHICLE } from '../helpers/api.js'

describe('the /v1 resources', () => {
  let api: ApiHarness
  let call: Client
  let userId: string

  before(async () => {
    api = await startApiHarness('postgres')
    userId = randomUUID()
    call = client(api.app, await userToken(userId))
  })
  after(() => api.close())

  const insertAlert = (values: Record<string, unknown>) =>
    api.harness.deps.db
      .insertInto('alerts')
      .values({
        user_id: userId,
        kind: 'fuel_low',
        priority: 'medium',
        title: 'Fuel low',
        body: 'Fuel at 15 %',
        data: JSON.stringify({ threshold: 20, observedAt: new Date().toISOString(), ruleVersion: 1 }),
        dedupe_key: randomUUID(),
        ...values,
      } as never)
      .returning('id')
      .executeTakeFirstOrThrow()

  it('creates the user on first use and lets them set a timezone, home and preferences', async () => {
    const me = await call('GET', '/v1/me')
    assert.equal(me.status, 200)
    assert.deepEqual(me.body, { ...me.body, id: userId, timezone: 'UTC', home: null, preferences: {} })
    const changed = await call('PATCH', '/v1/me', {
      timezone: 'America/Denver',
      home: { lat: 38.57, lon: -109.55 },
      preferences: { units: 'metric' },
    })
    assert.equal(changed.status, 200)
    assert.equal(changed.body.timezone, 'America/Denver')
    assert.deepEqual(changed.body.home, { lat: 38.57, lon: -109.55 })
    const bad = await call('PATCH', '/v1/me', { timezone: 'Mars/Olympus' })
    assert.equal(bad.status, 400)
    assert.deepEqual(bad.body.details, [
      {
        field: 'timezone',
        problem:
          'is not a time zone name PAM can use (an IANA name such as Europe/Berlin; a fixed offset as Etc/GMT-5 for UTC+5)',
      },
    ])
    assert.equal((await call('GET', '/v1/me')).body.timezone, 'America/Denver')
    await call('PATCH', '/v1/me', { timezone: 'UTC' })
  })

  it('vehicles: create, read, change, list, delete, with exact numbers', async () => {
    const created = await call('POST', '/v1/vehicles', VEHICLE)
    assert.equal(created.status, 201)
    assert.deepEqual(
      { ...created.body, id: undefined, createdAt: undefined, updatedAt: undefined },
      { ...VEHICLE, id: undefined, createdAt: undefined, updatedAt: undefined },
    )
    const id = created.body.id
    assert.equal((await call('GET', `/v1/vehicles/${id}`)).body.name, 'Campervan')
    const patched = await call('PATCH', `/v1/vehicles/${id}`, { odometerKm: 52_450.5 })
    assert.equal(patched.status, 200)
    assert.equal(patched.body.odometerKm, 52_450.5)
    assert.equal(patched.body.name, 'Campervan', 'fields not sent are unchanged')
    const list = await call('GET', '/v1/vehicles')
    assert.ok(list.body.items.some((v: { id: string }) => v.id === id))
    assert.equal((await call('DELETE', `/v1/vehicles/${id}`)).status, 204)
    assert.equal((await call('GET', `/v1/vehicles/${id}`)).status, 404)
    assert.equal((await call('DELETE', `/v1/vehicles/${id}`)).status, 404)
  })

  it('names every bad field, refuses unknown ones, and changes nothing', async () => {
    const before = (await call('GET', '/v1/vehicles')).body.items.length
    const bad = await call('POST', '/v1/vehicles', {
      name: '',
      fuelCapacityL: -1,
      consumptionLPer100Km: 'lots',
      userId: randomUUID(),
      id: randomUUID(),
      createdAt: '2020-01-01T00:00:00Z',
    })
    assert.equal(bad.status, 400)
    assert.equal(bad.body.error, 'bad_request')
    const fields = bad.body.details.map((d: { field: string }) => d.field).sort()
    assert.deepEqual(fields, ['consumptionLPer100Km', 'createdAt', 'fuelCapacityL', 'id', 'name', 'userId'])
    assert.equal((await call('GET', '/v1/vehicles')).body.items.length, before)
    const badId = await call('GET', '/v1/vehicles/not-a-uuid')
    assert.equal(badId.status, 400)
    assert.equal(badId.body.details[0].field, 'params.id')
  })

  it('fuel readings: recorded under a vehicle, listed newest first; an unknown vehicle is 404', async () => {
    const vehicle = (await call('POST', '/v1/vehicles', VEHICLE)).body
    const older = await call('POST', `/v1/vehicles/${vehicle.id}/fuel-readings`, {
      percent: 40,
      observedAt: '2026-11-20T10:00:00Z',
    })
    assert.equal(older.status, 201)
    const newer = await call('POST', `/v1/vehicles/${vehicle.id}/fuel-readings`, {
      percent: 15.5,
      lat: 38.5,
      lon: -109.5,
    })
    assert.equal(newer.body.percent, 15.5)
    const list = await call('GET', `/v1/vehicles/${vehicle.id}/fuel-readings`)
    assert.deepEqual(
      list.body.items.map((r: { percent: number }) => r.percent),
      [15.5, 40],
    )
    const halfPosition = await call('POST', `/v1/vehicles/${vehicle.id}/fuel-readings`, { percent: 50, lat: 38.5 })
    assert.equal(halfPosition.status, 400)
    assert.equal(halfPosition.body.details[0].field, 'lon')
    // A vehicle that is not there: refused by the reading's key, with or without a key to store the answer under.
    for (const headers of [{}, { 'idempotency-key': randomUUID() }] as Record<string, string>[]) {
      const missing = await call('POST', `/v1/vehicles/${randomUUID()}/fuel-readings`, { percent: 10 }, headers)
      assert.deepEqual([missing.status, missing.body.message], [404, 'no vehicle with this id'])
    }
    assert.equal((await call('POST', `/v1/vehicles/${vehicle.id}/fuel-readings`, { percent: 101 })).status, 400)
  })

  it('budgets: status in the user timezone, counting only the budget category and currency', async () => {
    await call('PATCH', '/v1/me', { timezone: 'Europe/Berlin' })
    const budget = (
      await call('POST', '/v1/budgets', { category: 'food', amount: 400, currency: 'EUR', period: 'month' })
    ).body
    const now = new Date().toISOString()
    for (const expense of [
      { amount: 100.1, currency: 'EUR', category: 'food', spentAt: now },
      { amount: 19.9, currency: 'EUR', category: 'food', spentAt: now },
      { amount: 50, currency: 'EUR', category: 'fuel', spentAt: now },
      { amount: 70, currency: 'USD', category: 'food', spentAt: now },
      { amount: 80, currency: 'EUR', category: 'food', spentAt: '2020-01-15T12:00:00Z' },
    ]) {
      assert.equal((await call('POST', '/v1/expenses', expense)).status, 201)
    }
    const status = await call('GET', `/v1/budgets/${budget.id}/status`)
    assert.equal(status.status, 200)
    assert.equal(status.body.spent, 120)
    assert.equal(status.body.remaining, 280)
    assert.equal(status.body.ratio, 0.3)
    assert.match(status.body.periodStart, /-01T00:00:00\.000\+0[12]:00$/, 'midnight on the 1st, Berlin time')
    assert.ok(status.body.daysLeft >= 1 && status.body.daysLeft <= 31)
    assert.equal(status.body.dailyAllowance, Math.round((280 / status.body.daysLeft) * 100) / 100)
    await call('PATCH', '/v1/me', { timezone: 'UTC' })
  })

  it('expenses: filters by time and category; money keeps its cents', async () => {
    const category = `camp-${randomUUID().slice(0, 8)}`
    for (const [amount, spentAt] of [
      [10.01, '2026-03-01T10:00:00Z'],
      [20.02, '2026-03-02T10:00:00Z'],
      [30.03, '2026-03-03T10:00:00Z'],
    ] as const) {
      await call('POST', '/v1/expenses', { amount, currency: 'USD', category, spentAt })
    }
    const all = await call('GET', `/v1/expenses?category=${category}`)
    assert.deepEqual(
      all.body.items.map((e: { amount: number }) => e.amount),
      [30.03, 20.02, 10.01],
    )
    const window = await call(
      'GET',
      `/v1/expenses?category=${category}&from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z`,
    )
    assert.deepEqual(
      window.body.items.map((e: { amount: number }) => e.amount),
      [20.02],
    )
    const tooPrecise = await call('POST', '/v1/expenses', {
      amount: 1.005,
      currency: 'USD',
      category,
      spentAt: '2026-03-01T10:00:00Z',
    })
    assert.equal(tooPrecise.status, 400)
    assert.equal(tooPrecise.body.details[0].field, 'amount')
    const id = all.body.items[0].id
    assert.equal((await call('PATCH', `/v1/expenses/${id}`, { note: 'campground' })).body.note, 'campground')
    assert.equal((await call('DELETE', `/v1/expenses/${id}`)).status, 204)
  })

  it('pages newest first with a cursor that stays stable while rows are inserted', async () => {
    const category = `page-${randomUUID().slice(0, 8)}`
    for (let day = 1; day <= 5; day++) {
      await call('POST', '/v1/expenses', {
        amount: day,
        currency: 'USD',
        category,
        spentAt: `2026-04-0${day}T12:00:00Z`,
      })
    }
    const first = await call('GET', `/v1/expenses?category=${category}&limit=2`)
    assert.deepEqual(
      first.body.items.map((e: { amount: number }) => e.amount),
      [5, 4],
    )
    // A newer row arrives while the client pages: it does not shift the next page.
    await call('POST', '/v1/expenses', { amount: 6, currency: 'USD', category, spentAt: '2026-04-06T12:00:00Z' })
    const second = await call('GET', `/v1/expenses?category=${category}&limit=2&cursor=${first.body.nextCursor}`)
    const third = await call('GET', `/v1/expenses?category=${category}&limit=2&cursor=${second.body.nextCursor}`)
    assert.deepEqual(
      [...second.body.items, ...third.body.items].map((e: { amount: number }) => e.amount),
      [3, 2, 1],
    )
    assert.equal(third.body.nextCursor, null)
    assert.equal((await call('GET', '/v1/expenses?limit=201')).status, 400)
    // A number too large for a double is Infinity once coerced: refused like any other bad limit.
    for (const limit of ['Infinity', '1e400', '-Infinity']) {
      const infinite = await call('GET', `/v1/expenses?limit=${limit}`)
      assert.equal(infinite.status, 400, `limit=${limit}: ${JSON.stringify(infinite.body)}`)
      assert.equal(infinite.body.details[0].field, 'querystring.limit')
    }
    const badCursor = await call('GET', '/v1/expenses?cursor=nonsense')
    assert.equal(badCursor.status, 400)
    assert.equal(badCursor.body.details[0].field, 'cursor')
  })

  it('trips: a departure window in order and ahead; status changes', async () => {
    const trip = {
      name: 'Moab',
      destination: { name: 'Moab, UT', lat: 38.57, lon: -109.55 },
      departFrom: '2027-04-01',
      departUntil: '2027-04-10',
      days: 4,
    }
    const created = await call('POST', '/v1/trips', trip)
    assert.equal(created.status, 201)
    assert.equal(created.body.status, 'planned')
    assert.equal(created.body.departFrom, '2027-04-01')
    const reversed = await call('POST', '/v1/trips', { ...trip, departUntil: '2027-03-01' })
    assert.equal(reversed.status, 400)
    assert.equal(reversed.body.details[0].field, 'departUntil')
    const past = await call('POST', '/v1/trips', { ...trip, departFrom: '2020-01-01', departUntil: '2020-01-05' })
    assert.equal(past.status, 400)
    assert.match(past.body.details[0].problem, /past/)
    const badPatch = await call('PATCH', `/v1/trips/${created.body.id}`, { departUntil: '2027-03-01' })
    assert.equal(badPatch.status, 400)
    const done = await call('PATCH', `/v1/trips/${created.body.id}`, { status: 'cancelled' })
    assert.equal(done.body.status, 'cancelled')
  })

  it('maintenance items: need an interval; a service starts a new cycle and resolves their alerts', async () => {
    const vehicle = (await call('POST', '/v1/vehicles', VEHICLE)).body
    const none = await call('POST', `/v1/vehicles/${vehicle.id}/maintenance-items`, { name: 'Oil change' })
    assert.equal(none.status, 400)
    assert.equal(none.body.details[0].field, 'intervalKm')
    const item = (
      await call('POST', `/v1/vehicles/${vehicle.id}/maintenance-items`, {
        name: 'Oil change',
        intervalKm: 10_000,
        costEstimate: 89.99,
      })
    ).body
    assert.equal(item.vehicleId, vehicle.id)
    assert.equal(item.costEstimate, 89.99)
    const listed = await call('GET', `/v1/vehicles/${vehicle.id}/maintenance-items`)
    assert.deepEqual(
      listed.body.items.map((i: { id: string }) => i.id),
      [item.id],
    )
    const alert = await insertAlert({
      kind: 'maintenance_due',
      data: JSON.stringify({ itemId: item.id, threshold: 500, observedAt: new Date().toISOString(), ruleVersion: 1 }),
    })
    const serviced = await call('POST', `/v1/maintenance-items/${item.id}/service`, {
      doneAt: '2026-11-20T09:00:00Z',
      odometerKm: 60_000,
    })
    assert.equal(serviced.status, 200)
    assert.equal(serviced.body.lastDoneKm, 60_000)
    assert.equal((await call('GET', `/v1/vehicles/${vehicle.id}`)).body.odometerKm, 60_000)
    const open = await call('GET', '/v1/alerts?kind=maintenance_due')
    assert.ok(!open.body.items.some((a: { id: string }) => a.id === alert.id), 'the alert is resolved')
    assert.equal((await call('PATCH', `/v1/maintenance-items/${item.id}`, { intervalKm: null })).status, 400)
    assert.equal((await call('PATCH', `/v1/maintenance-items/${item.id}`, { intervalDays: 180 })).status, 200)
    assert.equal((await call('DELETE', `/v1/maintenance-items/${item.id}`)).status, 204)
  })

  it('context signals: known kinds only, confidence 0–1', async () => {
    const ok = await call('POST', '/v1/context-signals', { kind: 'activity', value: 'driving', confidence: 0.9 })
    assert.equal(ok.status, 201)
    assert.equal(ok.body.confidence, 0.9)
    const bad = await call('POST', '/v1/context-signals', { kind: 'mood', value: 'happy', confidence: 1.5 })
    assert.equal(bad.status, 400)
    assert.deepEqual(bad.body.details.map((d: { field: string }) => d.field).sort(), ['confidence', 'kind'])
  })

  it('alerts: open by default, filters, read, dismiss, read-all', async () => {
    const fuel = await insertAlert({ priority: 'high' })
    const budget = await insertAlert({ kind: 'budget_threshold' })
    const resolved = await insertAlert({ resolved_at: new Date() })
    const expired = await insertAlert({ expires_at: new Date(Date.now() - 60_000) })
    const open = (await call('GET', '/v1/alerts')).body.items.map((a: { id: string }) => a.id)
    assert.ok(open.includes(fuel.id) && open.includes(budget.id))
    assert.ok(!open.includes(resolved.id) && !open.includes(expired.id))
    const all = (await call('GET', '/v1/alerts?status=all')).body.items.map((a: { id: string }) => a.id)
    assert.ok(all.includes(resolved.id) && all.includes(expired.id))
    const budgets = (await call('GET', '/v1/alerts?kind=budget_threshold')).body.items
    assert.deepEqual(
      budgets.map((a: { id: string }) => a.id),
      [budget.id],
    )
    const read = await call('PATCH', `/v1/alerts/${fuel.id}`, { read: true })
    assert.equal(read.status, 200)
    assert.ok(read.body.readAt)
    const unread = (await call('GET', '/v1/alerts?unread=true')).body.items.map((a: { id: string }) => a.id)
    assert.ok(!unread.includes(fuel.id) && unread.includes(budget.id))
    assert.equal((await call('PATCH', `/v1/alerts/${fuel.id}`, { read: false })).status, 400)
    assert.equal((await call('PATCH', `/v1/alerts/${budget.id}`, { dismissed: true })).body.dismissedAt !== null, true)
    assert.ok(!(await call('GET', '/v1/alerts')).body.items.some((a: { id: string }) => a.id === budget.id))
    await insertAlert({})
    const readAll = await call('POST', '/v1/alerts/read-all')
    assert.equal(readAll.status, 200)
    assert.ok(readAll.body.updated >= 1)
    assert.equal((await call('GET', '/v1/alerts?unread=true')).body.items.length, 0)
  })

  it('alerts: a page shows each alert exactly as documented: every field, of its type, nothing more', async () => {
    const Alert = alertSchema(alertKinds())
    const user = randomUUID()
    const own = client(api.app, await userToken(user))
    assert.equal((await own('GET', '/v1/me')).status, 200)
    const past = new Date(Date.now() - 60_000)
    // One alert with every time set (status=all shows resolved and dismissed ones) and a verdict, one with none.
    const full = await insertAlert({
      user_id: user,
      read_at: past,
      dismissed_at: past,
      resolved_at: past,
      expires_at: new Date(Date.now() + 3_600_000),
      feedback: 'useful',
    })
    const bare = await insertAlert({ user_id: user })
    const page = await own('GET', '/v1/alerts?status=all')
    assert.equal(page.status, 200)
    assert.deepEqual(Object.keys(page.body).sort(), ['items', 'nextCursor'])
    assert.deepEqual(page.body.items.map((a: { id: string }) => a.id).sort(), [full.id, bare.id].sort())
    for (const alert of page.body.items) {
      assert.deepEqual(Object.keys(alert).sort(), Object.keys(Alert.properties).sort())
      assert.ok(Value.Check(Alert, alert), `${JSON.stringify(alert)}: ${Value.Errors(Alert, alert)[0]?.message}`)
    }
    const shown = page.body.items.find((a: { id: string }) => a.id === full.id)
    assert.equal(shown.readAt, past.toISOString())
    assert.equal(shown.feedback, 'useful')
    assert.equal(typeof shown.version, 'number')
    // The route's error bodies are the contract's too.
    const refused = await own('GET', '/v1/alerts?status=closed')
    assert.equal(refused.status, 400)
    assert.deepEqual(Object.keys(refused.body).sort(), ['details', 'error', 'message'])
    assert.deepEqual(
      refused.body.details.map((d: { field: string }) => d.field),
      ['querystring.status'],
    )
  })

  it('alerts: pages with a cursor under every filter, each page its own, and since= keeps the newer ones', async () => {
    const user = randomUUID()
    const own = client(api.app, await userToken(user))
    assert.equal((await own('GET', '/v1/me')).status, 200)
    const start = Date.now() - 60_000
    const ids: string[] = []
    for (let i = 0; i < 5; i++) {
      const { id } = await insertAlert({
        user_id: user,
        kind: 'weather_window',
        created_at: new Date(start + i * 1_000),
        ...(i === 1 ? { read_at: new Date() } : {}),
      })
      ids.push(id)
    }
    // Another kind, and another user's alert of the same kind: in no page below.
    await insertAlert({ user_id: user, kind: 'budget_threshold', created_at: new Date(start + 500) })
    await insertAlert({ kind: 'weather_window', created_at: new Date(start + 2_500) })
    const pages = async (query: string) => {
      const seen: string[][] = []
      let cursor: string | null = null
      do {
        const url: string = `/v1/alerts?${query}&limit=2${cursor ? `&cursor=${cursor}` : ''}`
        const page = await own<{ items: { id: string }[]; nextCursor: string | null }>('GET', url)
        assert.equal(page.status, 200, JSON.stringify(page.body))
        seen.push(page.body.items.map((alert) => alert.id))
        cursor = page.body.nextCursor
      } while (cursor)
      return seen
    }
    const newestFirst = [...ids].reverse()
    assert.deepEqual(await pages('kind=weather_window'), [newestFirst.slice(0, 2), newestFirst.slice(2, 4), [ids[0]]])
    assert.deepEqual((await pages('kind=weather_window&unread=true&status=all')).flat(), [
      ids[4],
      ids[3],
      ids[2],
      ids[0],
    ])
    const since = new Date(start + 1_500).toISOString()
    assert.deepEqual(await pages(`kind=weather_window&since=${encodeURIComponent(since)}`), [
      [ids[4], ids[3]],
      [ids[2]],
    ])
  })

  it("answers Fastify's own errors with the error body: 404 route, 413, 415, malformed JSON", async () => {
    const token = await userToken(userId)
    const route = await call('GET', '/v1/nowhere')
    assert.equal(route.status, 404)
    assert.equal(route.body.error, 'not_found')
    const big = await api.app.inject({
      method: 'POST',
      url: '/v1/context-signals',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ kind: 'activity', value: 'x'.repeat(1_100_000), confidence: 1 }),
    })
    assert.equal(big.statusCode, 413)
    assert.equal(big.json().error, 'payload_too_large')
    const text = await api.app.inject({
      method: 'POST',
      url: '/v1/vehicles',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/xml' },
      payload: '<vehicle/>',
    })
    assert.equal(text.statusCode, 415)
    assert.equal(text.json().error, 'unsupported_media_type')
    const malformed = await api.app.inject({
      method: 'POST',
      url: '/v1/vehicles',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: '{"name": ',
    })
    assert.equal(malformed.statusCode, 400)
    assert.equal(malformed.json().error, 'bad_request')
    assert.doesNotMatch(malformed.body, /at .*\.js|stack/)
  })
})
