import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, it } from 'node:test'
import { type Cache, tableCache } from '../../src/platform/cache/cache.js'
import { createOpenMeteoClient } from '../../src/providers/weather/open-meteo-client.js'
import { WeatherUnavailableError } from '../../src/providers/weather/weather-provider.js'
import { startFakeOpenMeteo } from '../helpers/fake-open-meteo.js'
import { type Harness, startHarness } from '../helpers/harness.js'

describe('the Open-Meteo weather client', () => {
  let meteo: Awaited<ReturnType<typeof startFakeOpenMeteo>>
  let harness: Harness
  let cache: Cache
  let failures = 0
  const client = () =>
    createOpenMeteoClient({
      baseUrl: meteo.url,
      cache,
      backoffMs: 20,
      onOutcome: (ok) => {
        if (!ok) failures++
      },
    })

  before(async () => {
    meteo = await startFakeOpenMeteo()
    harness = await startHarness('postgres')
    cache = tableCache(harness.deps.db)
  })
  beforeEach(() => {
    Object.assign(meteo.state, {
      down: false,
      garbage: false,
      rainy: new Set([1]),
      requests: 0,
      padding: 0,
      streamed: false,
    })
    failures = 0
  })
  after(async () => {
    await harness.close()
    await meteo.close()
  })

  it('reads 16 days of daily values and caches them per ~1 km for half an hour', async () => {
    const days = await client().daily({ lat: 38.5712, lon: -109.5498 })
    assert.equal(days.length, 16)
    assert.deepEqual(days[1], {
      date: days[1]?.date,
      weatherCode: 63,
      precipitationProbability: 80,
      windSpeedMax: 12.5,
      temperatureMax: 18.2,
      temperatureMin: 4.1,
    })
    await client().daily({ lat: 38.5699, lon: -109.5501 })
    assert.equal(meteo.state.requests, 1)
    const row = await harness.deps.db
      .selectFrom('cache_entries')
      .select('expires_at')
      .where('key', '=', 'weather:38.57:-109.55')
      .executeTakeFirst()
    const ttl = (row?.expires_at.getTime() ?? 0) - Date.now()
    assert.ok(ttl > 29 * 60_000 && ttl <= 30 * 60_000, `${ttl} ms`)
  })

  it('makes a body without a daily forecast an error naming the target, never a forecast', async () => {
    meteo.state.garbage = true
    await assert.rejects(client().daily({ lat: 1, lon: 1 }), (error: Error) => {
      assert.ok(error instanceof WeatherUnavailableError)
      assert.match(error.message, /127\.0\.0\.1:\d+ sent no daily forecast/)
      return true
    })
    meteo.state.garbage = false
    meteo.state.down = true
    await assert.rejects(client().daily({ lat: 2, lon: 2 }), /unavailable after 3 attempts \(503 from/)
    assert.equal(failures, 2)
    assert.equal(meteo.state.requests, 4, 'garbage is not retried; 503 is, three times')
  })

  it('reads an answer with a size cap: a huge one is an error naming the target, not retried, never held', async () => {
    meteo.state.padding = 6 * 1024 * 1024
    for (const [index, streamed] of [false, true].entries()) {
      meteo.state.streamed = streamed
      await assert.rejects(client().daily({ lat: 10 + index, lon: 10 }), (error: Error) => {
        assert.ok(error instanceof WeatherUnavailableError)
        assert.match(error.message, /127\.0\.0\.1:\d+ sent more than 4194304 bytes/)
        return true
      })
    }
    assert.equal(meteo.state.requests, 2, 'not retried')
    meteo.state.padding = 1024
    assert.equal((await client().daily({ lat: 12, lon: 10 })).length, 16, 'a padded answer under the cap is read')
  })
})
