import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Validator } from '@seriousme/openapi-schema-validator'
import { sql } from 'kysely'
import { buildApiApp } from '../../src/app/roles/api.js'
import { createProducer } from '../../src/jobs/producer.js'
import { createDatabase } from '../../src/platform/db/database.js'
import {
  type ApiHarness,
  type Client,
  client,
  type Response,
  startApiHarness,
  userToken,
  VEHICLE,
} from '../helpers/api.js'
import { inBothModes } from '../helpers/harness.js'

const ORIGIN = 'https://app.example.com'

inBothModes('idempotency, rate limits, CORS, docs and outages', (mode) => {
  let api: ApiHarness
  let call: Client

  before(async () => {
    api = await startApiHarness(mode, { RATE_LIMIT_PER_MINUTE: '40', CORS_ORIGINS: ORIGIN })
    call = client(api.app, await userToken())
  })
  after(() => api.close())

  const vehicleCount = async () => (await call('GET', '/v1/vehicles?limit=200')).body.items.length

  it('replays a POST with the same Idempotency-Key and body, writing nothing; another body is 422', async () => {
    const key = { 'idempotency-key': randomUUID() }
    const first = await call('POST', '/v1/vehicles', VEHICLE, key)
    assert.equal(first.status, 201)
    const count = await vehicleCount()
    const again = await call('POST', '/v1/vehicles', VEHICLE, key)
    assert.equal(again.status, 201)
    assert.equal(again.headers['idempotent-replayed'], 'true')
    assert.deepEqual(again.body, first.body)
    assert.equal(await vehicleCount(), count, 'the replay wrote nothing')

    const other = await call('POST', '/v1/vehicles', { ...VEHICLE, name: 'Other' }, key)
    assert.equal(other.status, 422)
    assert.equal(other.body.error, 'idempotency_key_reused')
    assert.equal(await vehicleCount(), count)

    // Keys are per user: another user's identical key is a different request.
    const stranger = client(api.app, await userToken())
    assert.equal((await stranger('POST', '/v1/vehicles', VEHICLE, key)).headers['idempotent-replayed'], undefined)
  })

  it('answers 409 while the first request with a key is still running, then replays it', async () => {
    const key = { 'idempotency-key': randomUUID() }
    let first: Promise<Response> | undefined
    await api.harness.deps.db.transaction().execute(async (trx) => {
      // Holds every vehicle insert, so the first request stays in flight until this commits.
      await sql`lock table vehicles in exclusive mode`.execute(trx)
      first = call('POST', '/v1/vehicles', VEHICLE, key)
      await sleep(300)
      const second = await call('POST', '/v1/vehicles', VEHICLE, key)
      assert.equal(second.status, 409)
      assert.equal(second.body.error, 'conflict')
    })
    assert.equal((await first)?.status, 201)
    const third = await call('POST', '/v1/vehicles', VEHICLE, key)
    assert.equal(third.headers['idempotent-replayed'], 'true')
    assert.equal(third.body.id, (await first)?.body.id)
  })

  it('rate-limits per user with Retry-After and the rate-limit headers; health is exempt', async () => {
    const token = await userToken()
    const limited = client(api.app, token)
    const first = await limited('GET', '/v1/me')
    assert.equal(first.headers['x-ratelimit-limit'], '40')
    assert.equal(first.headers['x-ratelimit-remaining'], '39')
    for (let i = 1; i < 40; i++) assert.equal((await limited('GET', '/v1/me')).status, 200)
    const refused = await limited('GET', '/v1/me')
    assert.equal(refused.status, 429)
    assert.equal(refused.body.error, 'rate_limited')
    assert.ok(Number(refused.headers['retry-after']) > 0)
    assert.equal((await call('GET', '/v1/me')).status, 200, 'another user is not limited')
    for (let i = 0; i < 45; i++) assert.equal((await api.app.inject({ url: '/health' })).statusCode, 200)

    // A second API replica: in Redis mode it shares the counters; in Postgres-only mode they are per process.
    const producer = createProducer(api.harness.deps.backend, api.harness.deps.logger)
    const replica = await buildApiApp(api.harness.deps, producer)
    try {
      const there = await client(replica, token)('GET', '/v1/me')
      assert.equal(there.status, mode === 'redis' ? 429 : 200)
    } finally {
      await replica.close()
      await producer.close()
    }
  })

  it('answers CORS for allowed origins only, never with a wildcard', async () => {
    const preflight = (origin: string) =>
      api.app.inject({
        method: 'OPTIONS',
        url: '/v1/vehicles',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,idempotency-key',
        },
      })
    const allowed = await preflight(ORIGIN)
    assert.equal(allowed.headers['access-control-allow-origin'], ORIGIN)
    assert.match(String(allowed.headers['access-control-allow-headers']), /idempotency-key/i)
    const denied = await preflight('https://evil.example')
    assert.equal(denied.headers['access-control-allow-origin'], undefined)
    const simple = await api.app.inject({ url: '/health', headers: { origin: ORIGIN } })
    assert.equal(simple.headers['access-control-allow-origin'], ORIGIN)
    assert.equal(simple.headers['x-content-type-options'], 'nosniff', 'security headers')
  })

  it("sends a JSON response the API's few security headers, and its HTML pages helmet's full set", async () => {
    for (const url of ['/health', '/v1/alerts', '/v1/alerts?limit=0']) {
      const response = await api.app.inject({ url, headers: { authorization: `Bearer ${await userToken()}` } })
      assert.equal(response.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'", url)
      assert.equal(response.headers['x-content-type-options'], 'nosniff', url)
      assert.equal(response.headers['x-frame-options'], 'DENY', url)
      assert.equal(response.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains', url)
      assert.equal(response.headers['referrer-policy'], 'no-referrer', url)
      assert.equal(response.headers['cross-origin-resource-policy'], 'same-origin', url)
      // Helmet's page headers (legacy switches, cross-origin isolation) stay off JSON.
      assert.equal(response.headers['x-dns-prefetch-control'], undefined, url)
      assert.equal(response.headers['origin-agent-cluster'], undefined, url)
    }
    // The email links' pages: an inline style and a form, under helmet's CSP.
    const page = await api.app.inject({ url: '/unsubscribe?token=nonsense' })
    assert.equal(page.statusCode, 400)
    assert.match(String(page.headers['content-type']), /text\/html/)
    assert.match(String(page.headers['content-security-policy']), /style-src 'self' https: 'unsafe-inline'/)
    assert.equal(page.headers['x-frame-options'], 'SAMEORIGIN')
    assert.equal(page.headers['x-dns-prefetch-control'], 'off')
    const docs = await api.app.inject({ url: '/docs/json' })
    assert.equal(docs.headers['x-dns-prefetch-control'], 'off')
  })

  it('allows in a preflight every method the routes take (PUT included), derived from the routes', async () => {
    const document = (await api.app.inject({ url: '/docs/json' })).json() as { paths: Record<string, object> }
    const used = new Set(
      Object.values(document.paths)
        .flatMap((methods) => Object.keys(methods))
        .map((method) => method.toUpperCase())
        .filter((method) => method !== 'HEAD' && method !== 'OPTIONS'),
    )
    const preflight = await api.app.inject({
      method: 'OPTIONS',
      url: '/v1/me/notification-settings',
      headers: { origin: ORIGIN, 'access-control-request-method': 'PUT' },
    })
    assert.equal(preflight.statusCode, 204)
    const allowed = String(preflight.headers['access-control-allow-methods']).split(/,\s*/)
    assert.ok(allowed.includes('PUT'), allowed.join(', '))
    for (const method of used) assert.ok(allowed.includes(method), `${method} in ${allowed.join(', ')}`)
  })

  it("counts bodies that do not even parse against the user's rate limit (40 a minute here)", async () => {
    const token = await userToken()
    const statuses: number[] = []
    for (let i = 0; i < 42; i++) {
      const response = await api.app.inject({
        method: 'POST',
        url: '/v1/vehicles',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: '{"name": "Campervan",',
      })
      statuses.push(response.statusCode)
    }
    assert.deepEqual(statuses, [...Array(40).fill(400), 429, 429])
  })

  it('serves an OpenAPI document that a real validator accepts, with every /v1 route secured', async () => {
    const response = await api.app.inject({ url: '/docs/json' })
    assert.equal(response.statusCode, 200)
    const document = response.json()
    const result = await new Validator().validate(document)
    assert.equal(result.valid, true, JSON.stringify(result.errors)?.slice(0, 2000))
    for (const path of [
      '/v1/me',
      '/v1/vehicles',
      '/v1/vehicles/{id}',
      '/v1/vehicles/{id}/fuel-readings',
      '/v1/vehicles/{id}/maintenance-items',
      '/v1/maintenance-items/{id}',
      '/v1/maintenance-items/{id}/service',
      '/v1/budgets',
      '/v1/budgets/{id}',
      '/v1/budgets/{id}/status',
      '/v1/expenses',
      '/v1/expenses/{id}',
      '/v1/trips',
      '/v1/trips/{id}',
      '/v1/context-signals',
      '/v1/alerts',
      '/v1/alerts/{id}',
      '/v1/alerts/read-all',
      '/health',
      '/ready',
    ]) {
      assert.ok(document.paths[path], `${path} is documented`)
    }
    const create = document.paths['/v1/vehicles'].post
    assert.deepEqual(create.security, [{ bearerAuth: [] }])
    for (const status of ['201', '400', '401', '422', '429', '503']) assert.ok(create.responses[status], status)
    assert.equal(document.components.securitySchemes.bearerAuth.scheme, 'bearer')
    assert.equal((await api.app.inject({ url: '/docs' })).statusCode, 200)
  })

  it('answers 503 with no internals when the database is down', async () => {
    const dead = createDatabase('postgres://postgres@127.0.0.1:1/nothing', api.harness.deps.logger)
    const producer = createProducer(api.harness.deps.backend, api.harness.deps.logger)
    const app = await buildApiApp({ ...api.harness.deps, db: dead.db }, producer)
    try {
      const response = await client(app, await userToken())('GET', '/v1/vehicles')
      assert.equal(response.status, 503)
      assert.deepEqual(Object.keys(response.body).sort(), ['error', 'message'])
      assert.equal(response.body.error, 'unavailable')
      assert.doesNotMatch(JSON.stringify(response.body), /ECONNREFUSED|127\.0\.0\.1|select|stack/i)
    } finally {
      await app.close()
      await producer.close()
      await dead.close()
    }
  })
})
