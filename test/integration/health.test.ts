import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import { buildApiApp } from '../../src/app/roles/api.js'
import { startWorker } from '../../src/app/roles/worker.js'
import { BROWSER_HOME } from '../../src/http/routes/service-index.js'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import { QUEUE_NAMES } from '../../src/platform/backend/queue-names.js'
import { eventually, type Harness, inBothModes, startHarness, TEST_INTERNAL_TOKEN } from '../helpers/harness.js'

inBothModes('health and readiness', (mode) => {
  let harness: Harness
  let app: FastifyInstance
  let producer: Producer
  const controller = new AbortController()

  before(async () => {
    harness = await startHarness(mode)
    producer = createProducer(harness.deps.backend, harness.deps.logger)
    app = await buildApiApp(harness.deps, producer)
  })
  after(async () => {
    controller.abort()
    await app.close()
    await producer.close()
    await harness.close()
  })

  it('answers /health and /api/health without touching a dependency', async () => {
    for (const url of ['/health', '/api/health']) {
      const response = await app.inject({ url })
      assert.equal(response.statusCode, 200)
      const body = response.json()
      assert.equal(body.status, 'healthy')
      assert.equal(body.service, 'pam-api')
      assert.match(body.version, /^\d+\.\d+\.\d+/)
      assert.ok(!Number.isNaN(Date.parse(body.timestamp)))
    }
  })

  it('answers / and /v1 with an index for programs, and sends a browser to the docs', async () => {
    for (const url of ['/', '/v1']) {
      for (const accept of [undefined, '*/*', 'application/json', 'application/json, text/html;q=0.5']) {
        const response = await app.inject({ url, headers: accept ? { accept } : {} })
        assert.equal(response.statusCode, 200, `${url} with Accept ${accept}: ${response.body}`)
        const body = response.json()
        assert.equal(body.service, 'pam-api')
        assert.match(body.version, /^\d+\.\d+\.\d+/)
        assert.deepEqual(
          { ...body.links },
          {
            api: '/v1',
            docs: '/docs',
            openapi: '/docs/json',
            console: '/console',
            health: '/health',
            ready: '/ready',
            stream: '/v1/stream',
          },
        )
      }
      // As Chromium and Firefox ask for a page.
      const browser = await app.inject({
        url,
        headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
      })
      assert.equal(browser.statusCode, 302, browser.body)
      assert.equal(browser.headers.location, BROWSER_HOME)
    }
    // Every link but the console (another part of PAM) answers on this server.
    const links = (await app.inject({ url: '/' })).json().links as Record<string, string>
    for (const [name, path] of Object.entries(links)) {
      if (name === 'console' || name === 'stream') continue
      const response = await app.inject({ url: path })
      assert.ok([200, 503].includes(response.statusCode), `${path}: ${response.statusCode}`)
    }
    const documented = (await app.inject({ url: '/docs/json' })).json().paths
    assert.ok(documented['/'] && documented['/v1'], 'the index is in the OpenAPI document')
  })

  it('is not ready while no worker consumes the queues, and names them', async () => {
    const response = await app.inject({ url: '/ready' })
    assert.equal(response.statusCode, 503)
    const body = response.json()
    assert.equal(body.ready, false)
    assert.deepEqual(body.components, { database: true, redis: mode === 'redis' ? true : null, workers: false })
    assert.deepEqual(body.queues_without_workers, [...QUEUE_NAMES])
    assert.equal(body.service, 'pam-api')
    assert.equal(typeof body.duration_ms, 'number')
  })

  it('becomes ready when a worker starts, and not ready again the moment it stops', async () => {
    const worker = await startWorker(harness.deps, controller.signal, { queues: QUEUE_NAMES, concurrency: 1 })
    const ready = await app.inject({ url: '/ready' })
    assert.equal(ready.statusCode, 200, ready.body)
    assert.equal(ready.json().ready, true)

    await worker.stop()
    const stopped = await app.inject({ url: '/ready' })
    assert.equal(stopped.statusCode, 503)
    assert.equal(stopped.json().components.workers, false)
  })

  it('needs every queue covered: a worker on one queue is not enough', async () => {
    const worker = await startWorker(harness.deps, controller.signal, { queues: ['analytics'], concurrency: 1 })
    try {
      const body = (await app.inject({ url: '/ready' })).json()
      assert.equal(body.components.workers, false)
      assert.deepEqual(body.queues_without_workers, ['notifications', 'maintenance'])
    } finally {
      await worker.stop()
    }
  })

  it('counts a worker silent for 30 s as dead (a killed process leaves its row behind)', async () => {
    await harness.deps.db
      .insertInto('worker_heartbeats')
      .values({
        id: 'worker-killed',
        role: 'worker',
        host: 'elsewhere',
        pid: 1,
        queues: [...QUEUE_NAMES],
        concurrency: 4,
        started_at: new Date(),
        last_beat_at: sql<Date>`now() - interval '31 seconds'`,
      })
      .execute()
    const body = (await app.inject({ url: '/ready' })).json()
    assert.equal(body.components.workers, false)

    await harness.deps.db
      .updateTable('worker_heartbeats')
      .set({ last_beat_at: sql<Date>`now() - interval '25 seconds'` })
      .where('id', '=', 'worker-killed')
      .execute()
    assert.equal((await app.inject({ url: '/ready' })).json().components.workers, true)
    await harness.deps.db.deleteFrom('worker_heartbeats').where('id', '=', 'worker-killed').execute()
  })

  it('lists live workers on /internal/worker/heartbeat, only with the internal token', async () => {
    const worker = await startWorker(harness.deps, controller.signal, { queues: ['maintenance'], concurrency: 3 })
    try {
      const refused = await app.inject({ url: '/internal/worker/heartbeat' })
      assert.equal(refused.statusCode, 401)
      assert.equal(refused.json().error, 'unauthorized')
      assert.match(String(refused.headers['www-authenticate']), /^Bearer/)
      const wrong = await app.inject({ url: '/internal/worker/heartbeat', headers: { authorization: 'Bearer nope' } })
      assert.equal(wrong.statusCode, 401)

      const response = await app.inject({
        url: '/internal/worker/heartbeat',
        headers: { authorization: `Bearer ${TEST_INTERNAL_TOKEN}` },
      })
      assert.equal(response.statusCode, 200)
      const [live] = response.json().workers
      assert.deepEqual(live.queues, ['maintenance'])
      assert.equal(live.concurrency, 3)
      assert.equal(live.pid, process.pid)
      assert.ok(Date.now() - Date.parse(live.lastBeatAt) < 10_000)
    } finally {
      await worker.stop()
    }
  })

  it('leaves out of `ready` the components a probe excludes, still reporting them; refuses what it does not know', async () => {
    const response = await app.inject({ url: '/ready?exclude=workers,redis' })
    assert.equal(response.statusCode, 200, response.body)
    assert.equal(response.json().ready, true)
    assert.equal(response.json().components.workers, false, 'still reported')
    assert.equal((await app.inject({ url: '/ready?exclude=redis' })).statusCode, 503, 'the workers still count')
    const bad = await app.inject({ url: '/ready?exclude=workers,queues' })
    assert.equal(bad.statusCode, 400)
    assert.equal(bad.json().details[0].field, 'querystring.exclude')
  })

  it('says the database is not ready until this process knows its migrations are applied', async () => {
    let migrated = false
    const starting = await buildApiApp(harness.deps, producer, () => migrated)
    try {
      const before = await starting.inject({ url: '/ready?exclude=workers,redis' })
      assert.equal(before.statusCode, 503)
      assert.equal(before.json().components.database, false)
      migrated = true
      // Readiness is checked at most ~10 times a second: a second's wait gives a fresh answer.
      const after = await eventually(async () => {
        const response = await starting.inject({ url: '/ready?exclude=workers,redis' })
        return response.statusCode === 200 ? response : undefined
      })
      assert.equal(after.json().components.database, true)
    } finally {
      await starting.close()
    }
  })

  it('answers unknown routes with the error body', async () => {
    const response = await app.inject({ url: '/nowhere' })
    assert.equal(response.statusCode, 404)
    assert.deepEqual(response.json(), { error: 'not_found', message: 'no route GET /nowhere' })
  })
})
