import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import type { Producer } from '../../src/jobs/producer.js'
import { type AlertStack, startAlertStack } from '../helpers/alert-stack.js'
import { VEHICLE } from '../helpers/api.js'
import { startFakeOpenMeteo } from '../helpers/fake-open-meteo.js'
import { startFakeOverpass } from '../helpers/fake-overpass.js'
import { eventually, type Harness, inBothModes, testEnv } from '../helpers/harness.js'
import { freePort, spawnPam } from '../helpers/process.js'
import { testRedisUrl } from '../helpers/services.js'
import type { StreamClient } from '../helpers/stream.js'

// biome-ignore lint/suspicious/noExplicitAny: alerts arrive as JSON and are read field by field
type Message = Record<string, any>
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10)

inBothModes('weather, maintenance and context monitors end to end', (mode) => {
  let overpass: Awaited<ReturnType<typeof startFakeOverpass>>
  let meteo: Awaited<ReturnType<typeof startFakeOpenMeteo>>
  let stack: AlertStack
  let harness: Harness
  let producer: Producer

  before(async () => {
    overpass = await startFakeOverpass()
    meteo = await startFakeOpenMeteo()
    stack = await startAlertStack(mode, { PLACES_API_URL: overpass.url, WEATHER_API_URL: meteo.url })
    ;({ harness, producer } = stack)
  })
  after(async () => {
    await stack.close()
    await overpass.close()
    await meteo.close()
  })

  const traveller = () => stack.traveller()
  const alertOf = (stream: StreamClient, kind: string, from = 0) =>
    stream
      .next(
        (m) => m.type === 'alert.created' && (m.alert as Message).kind === kind && stream.messages.indexOf(m) >= from,
        10_000,
      )
      .then((m) => m.alert as Message)
  /** Half an hour passes for the forecast cache. */
  async function forgetForecasts() {
    if (mode === 'postgres') {
      await harness.deps.db.deleteFrom('cache_entries').where('key', 'like', 'weather:%').execute()
      return
    }
    const redis = new Redis(testRedisUrl())
    const keys = await redis.keys(`${harness.config.REDIS_PREFIX}:cache:weather:*`)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  }

  it('weather: a clear window in the departure window → alert; the forecast losing it → resolved; provider down → nothing changes, run degraded', async () => {
    meteo.state.rainy = new Set([0, 1])
    const { call, stream } = await traveller()
    try {
      const trip = (
        await call('POST', '/v1/trips', {
          name: 'Moab',
          destination: { name: 'Moab', lat: 38.57, lon: -109.55 },
          departFrom: day(0),
          departUntil: day(5),
          days: 4,
        })
      ).body
      const alert = await alertOf(stream, 'weather_window')
      assert.equal(alert.data.tripId, trip.id)
      assert.equal(alert.data.windowStart, day(2), 'the first clear day after the rain')
      assert.equal(alert.data.optimalDeparture, day(2))
      assert.equal(alert.data.days.length, 14)
      assert.equal(alert.data.days[0].weatherCode, 1)

      meteo.state.down = true
      await forgetForecasts()
      await producer.enqueue('monitor.weather.sweep', {})
      const run = await eventually(
        async () =>
          (await harness.deps.db
            .selectFrom('monitor_runs')
            .selectAll()
            .where('monitor', '=', 'weather')
            .where('finished_at', 'is not', null)
            .executeTakeFirst()) ?? undefined,
        15_000,
        'a weather run',
      )
      assert.equal(run.status, 'degraded')
      assert.equal((await call('GET', '/v1/alerts?kind=weather_window')).body.items.length, 1, 'no data, no change')

      meteo.state.down = false
      meteo.state.rainy = new Set(Array.from({ length: 16 }, (_, i) => i))
      await forgetForecasts()
      await call('PATCH', `/v1/trips/${trip.id}`, { days: 5 })
      await stream.next((m) => m.type === 'alert.resolved' && m.alertId === alert.id, 10_000)
    } finally {
      meteo.state.rainy = new Set()
      meteo.state.down = false
      // The rainy forecast stays cached for 30 minutes: later tests start from a clear one.
      await forgetForecasts()
      stream.close()
    }
  })

  it('maintenance: overdue by distance → high with shops nearby; recording the service resolves it', async () => {
    const { call, stream } = await traveller()
    try {
      const vehicle = (await call('POST', '/v1/vehicles', { ...VEHICLE, odometerKm: 60_000 })).body
      await call('POST', `/v1/vehicles/${vehicle.id}/fuel-readings`, { percent: 80, lat: 39.07, lon: -108.55 })
      const item = (
        await call('POST', `/v1/vehicles/${vehicle.id}/maintenance-items`, {
          name: 'Oil change',
          intervalKm: 5_000,
          lastDoneKm: 54_000,
          lastDoneAt: new Date(Date.now() - 100 * 86_400_000).toISOString(),
          costEstimate: 89.99,
        })
      ).body
      const alert = await alertOf(stream, 'maintenance_due')
      assert.equal(alert.priority, 'high')
      assert.equal(alert.data.itemId, item.id)
      assert.equal(alert.data.overdueByKm, 1_000)
      assert.equal(alert.data.costEstimate, 89.99)
      assert.deepEqual(
        alert.data.shops.map((s: Message) => s.name),
        ['car_repair one', 'car_repair two', 'car_repair three'],
      )
      await call('POST', `/v1/maintenance-items/${item.id}/service`, {
        doneAt: new Date().toISOString(),
        odometerKm: 60_000,
      })
      await stream.next((m) => m.type === 'alert.resolved' && m.alertId === alert.id, 10_000)
      await sleep(500)
      assert.equal((await call('GET', '/v1/alerts?kind=maintenance_due')).body.items.length, 0, 'a new cycle, not due')
    } finally {
      stream.close()
    }
  })

  it('context: a confident change → one suggestion expiring in 24 h; 0.7 and the same value change nothing', async () => {
    const { call, stream } = await traveller()
    try {
      await call('POST', '/v1/context-signals', { kind: 'location', value: 'Moab', confidence: 0.9 })
      const suggestion = await alertOf(stream, 'context_suggestion')
      assert.equal(suggestion.data.value, 'Moab')
      assert.equal(suggestion.data.previousValue, null)
      assert.match(suggestion.data.suggestion, /Moab/)
      const ttl = Date.parse(suggestion.expiresAt) - Date.parse(suggestion.data.observedAt)
      assert.equal(ttl, 24 * 3600 * 1000)
      const seen = stream.messages.length
      await call('POST', '/v1/context-signals', { kind: 'location', value: 'Vegas', confidence: 0.7 })
      await call('POST', '/v1/context-signals', { kind: 'location', value: 'Moab', confidence: 0.95 })
      await sleep(1_000)
      assert.deepEqual(stream.messages.slice(seen), [], 'nothing new')
      assert.equal((await call('GET', '/v1/alerts?kind=context_suggestion')).body.items.length, 1)
    } finally {
      stream.close()
    }
  })

  const demoEnv = (extra: Record<string, string>) =>
    testEnv(mode, harness.databaseUrl, {
      REDIS_PREFIX: harness.config.REDIS_PREFIX,
      MIGRATE_ON_START: 'false',
      ...extra,
    })

  it('pam demo shows all five monitors producing an alert', async () => {
    const demo = spawnPam(['demo', '--timeout', '30'], demoEnv({ WEATHER_API_URL: meteo.url }))
    assert.equal(await demo.exited, 0, demo.output())
    for (const kind of ['fuel_low', 'budget_threshold', 'weather_window', 'maintenance_due', 'context_suggestion']) {
      assert.match(demo.output(), new RegExp(`^  ${kind}\\s`, 'm'), kind)
    }
    assert.match(demo.output(), /5 of 5 monitors produced an alert;/)
    // And the way in for that traveller: the exact curl with a token, and the watch line.
    const traveller = /demo traveller ([0-9a-f-]{36})/.exec(demo.output())?.[1]
    assert.ok(
      demo
        .output()
        .includes(
          `curl -s http://127.0.0.1:8000/v1/alerts -H "Authorization: Bearer $(npx pam token --user ${traveller})"`,
        ),
      demo.output(),
    )
    assert.ok(demo.output().includes(`npx pam watch --user ${traveller}`), demo.output())
    // The demo's food budget is in USD: the service estimate says so.
    assert.match(demo.output(), /Oil change is overdue[^\n]* About USD 89\.99\./)
  })

  it('pam demo says at once that the weather window needs a forecast provider, and skips it', async () => {
    // Earlier tests cached Moab's forecast, which would serve the demo without a provider.
    if (mode === 'redis') {
      const redis = new Redis(testRedisUrl())
      const keys = await redis.keys(`${harness.config.REDIS_PREFIX}:cache:weather:*`)
      if (keys.length > 0) await redis.del(...keys)
      redis.disconnect()
    } else await harness.deps.db.deleteFrom('cache_entries').where('key', 'like', 'weather:%').execute()
    const demo = spawnPam(
      ['demo', '--timeout', '30'],
      demoEnv({ WEATHER_API_URL: `http://127.0.0.1:${await freePort()}` }),
    )
    assert.equal(await demo.exited, 0, demo.output())
    const lines = demo.output().split('\n')
    assert.match(lines[0] ?? '', /^weather_window: skipped, it needs a forecast and the provider does not answer/)
    assert.doesNotMatch(demo.output(), /^ {2}weather_window\s/m)
    assert.match(demo.output(), /4 of 5 monitors produced an alert \(weather skipped: no forecast\)/)
  })
})
