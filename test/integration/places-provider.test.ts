import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, it } from 'node:test'
import { type Cache, tableCache } from '../../src/platform/cache/cache.js'
import { createOverpassClient } from '../../src/providers/places/overpass-client.js'
import { PlacesUnavailableError } from '../../src/providers/places/places-provider.js'
import { startFakeOverpass } from '../helpers/fake-overpass.js'
import { type Harness, startHarness } from '../helpers/harness.js'

describe('the Overpass places client', () => {
  let overpass: Awaited<ReturnType<typeof startFakeOverpass>>
  let harness: Harness
  let cache: Cache
  let failures = 0
  const client = () =>
    createOverpassClient({
      baseUrl: overpass.url,
      cache,
      backoffMs: 20,
      onOutcome: (ok) => {
        if (!ok) failures++
      },
    })

  before(async () => {
    overpass = await startFakeOverpass()
    harness = await startHarness('postgres')
    cache = tableCache(harness.deps.db)
  })
  beforeEach(() => {
    Object.assign(overpass.state, { down: false, busyTimes: 0, garbage: false, requests: 0 })
    failures = 0
  })
  after(async () => {
    await harness.close()
    await overpass.close()
  })

  it('reads nodes and ways (by their center) around a rounded point, and caches the answer', async () => {
    const places = await client().nearby('fuel', { lat: 38.5712, lon: -109.5498 }, 20)
    assert.deepEqual(
      places.map((p) => p.name),
      ['fuel two', 'fuel one', 'fuel three', 'fuel four'],
    )
    assert.match(overpass.state.queries.at(-1) ?? '', /nwr\["amenity"="fuel"\]\(around:20000,38.57,-109.55\)/)
    await client().nearby('fuel', { lat: 38.5699, lon: -109.5501 }, 20)
    assert.equal(overpass.state.requests, 1, 'the second lookup nearby came from the cache')
  })

  it('retries 429 with backoff, then answers', async () => {
    overpass.state.busyTimes = 2
    const places = await client().nearby('car_repair', { lat: 10, lon: 10 }, 5)
    assert.equal(places[0]?.name, 'car_repair two')
    assert.equal(overpass.state.requests, 3)
  })

  it('names the target and counts a failure when it stays down or sends garbage', async () => {
    overpass.state.down = true
    await assert.rejects(client().nearby('fuel', { lat: 11, lon: 11 }, 5), (error: Error) => {
      assert.ok(error instanceof PlacesUnavailableError)
      assert.match(error.message, /unavailable after 3 attempts \(503 from 127\.0\.0\.1:\d+\)/)
      return true
    })
    overpass.state.down = false
    overpass.state.garbage = true
    await assert.rejects(client().nearby('fuel', { lat: 12, lon: 12 }, 5), /sent a body without elements/)
    assert.equal(failures, 2)
  })

  it('gives up at once, naming the host, when the host name does not resolve (no network)', async () => {
    // .invalid never resolves (RFC 2606). The default backoff (0.5 s, then 1 s) is what a waiting
    // alert would have sat through before the stations were given up.
    const offline = createOverpassClient({ baseUrl: 'http://overpass.invalid/api/interpreter', cache })
    const started = performance.now()
    await assert.rejects(offline.nearby('fuel', { lat: 13, lon: 13 }, 5), (error: Error) => {
      assert.ok(error instanceof PlacesUnavailableError)
      assert.match(error.message, /overpass\.invalid does not resolve/)
      return true
    })
    assert.ok(performance.now() - started < 1_400, 'no 1.5 s of backoff between attempts that cannot succeed')
  })
})
