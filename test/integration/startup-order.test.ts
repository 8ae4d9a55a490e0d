import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { buildDeps } from '../../src/app/composition/deps.js'
import { checkReadiness } from '../../src/operations/health/readiness.js'
import { loadConfig } from '../../src/platform/config.js'
import { migrateUp } from '../../src/platform/db/migrator.js'
import { createLogger } from '../../src/platform/logger.js'
import { VEHICLE } from '../helpers/api.js'
import { testEnv } from '../helpers/harness.js'
import { freePort, type PamProcess, spawnPam } from '../helpers/process.js'
import { answers, remoteTraveller } from '../helpers/remote-api.js'
import { createTestDatabase } from '../helpers/services.js'

// A write's evaluation is queued at once and runs within milliseconds; the sweep that would
// otherwise catch a lost one comes minutes later. Generous for a loaded machine, far below that.
const PROMPTLY_MS = 10_000

describe('a first run on a fresh database [postgres-only mode]', () => {
  let database: { url: string; drop(): Promise<void> }
  const running: PamProcess[] = []
  const start = async (args: string[], extra: Record<string, string> = {}) => {
    const closed = `http://127.0.0.1:${await freePort()}`
    const pam = spawnPam(
      args,
      testEnv('postgres', database.url, { PLACES_API_URL: closed, WEATHER_API_URL: closed, ...extra }),
    )
    running.push(pam)
    return pam
  }
  /** A 15 % reading's fuel_low alert reaches the socket without waiting for a sweep. */
  const lowReadingAlerts = async (base: string) => {
    const traveller = await remoteTraveller(base)
    const stream = await traveller.stream()
    try {
      const vehicle = await traveller.call('POST', '/v1/vehicles', VEHICLE)
      assert.equal(vehicle.status, 201)
      const reading = await traveller.call('POST', `/v1/vehicles/${vehicle.body.id}/fuel-readings`, { percent: 15 })
      assert.equal(reading.status, 201)
      const created = await stream.next((m) => m.type === 'alert.created', PROMPTLY_MS)
      assert.equal((created.alert as { kind: string }).kind, 'fuel_low')
    } finally {
      stream.close()
    }
  }

  before(async () => {
    database = await createTestDatabase()
  })
  after(async () => {
    await Promise.all(running.map((pam) => pam.stop('SIGKILL')))
    await database.drop()
  })

  it('pam start: the first low reading raises its alert on the socket at once', async () => {
    const port = await freePort()
    const pam = await start(['start'], { PORT: String(port) })
    await answers(`127.0.0.1:${port}`, '/ready', 200)
    await lowReadingAlerts(`127.0.0.1:${port}`)
    assert.equal(await pam.stop('SIGTERM'), 0, pam.output())
  })

  it('/ready says not ready while the queues cannot take jobs (BullMQ schema missing)', async () => {
    await database.drop()
    database = await createTestDatabase()
    const config = loadConfig(testEnv('postgres', database.url))
    const deps = await buildDeps(config, createLogger({ level: 'silent', role: 'test' }))
    try {
      await migrateUp(deps.db)
      assert.equal((await checkReadiness(deps)).components.database, false, 'PAM schema only')
      await deps.backend.migrate()
      assert.equal((await checkReadiness(deps)).components.database, true)
    } finally {
      await deps.close()
    }
  })

  it('an API whose queues were built before the schema existed enqueues once it does', async () => {
    // A second fresh database: the API builds its queues at once, then migrates in the background.
    await database.drop()
    database = await createTestDatabase()
    const port = await freePort()
    await start(['api'], { PORT: String(port) })
    await answers(`127.0.0.1:${port}`, '/health', 200)
    await start(['worker'], { MIGRATE_ON_START: 'false' })
    await answers(`127.0.0.1:${port}`, '/ready', 200)
    await lowReadingAlerts(`127.0.0.1:${port}`)
  })
  it('answers 503, not 500, while its database is not migrated yet', async () => {
    // A fresh database that nothing migrates: the API listens, and every request that needs the
    // schema would fail on a missing table. It must say "not ready", as it does during migrations.
    await database.drop()
    database = await createTestDatabase()
    const port = await freePort()
    await start(['api'], { PORT: String(port), MIGRATE_ON_START: 'false' })
    await answers(`127.0.0.1:${port}`, '/health', 200)
    const traveller = await remoteTraveller(`127.0.0.1:${port}`)
    for (const [method, path, body] of [
      ['GET', '/v1/me', undefined],
      ['POST', '/v1/vehicles', VEHICLE],
      ['GET', '/v1/alerts', undefined],
    ] as const) {
      const response = await traveller.call(method, path, body)
      assert.equal(response.status, 503, `${method} ${path}: ${JSON.stringify(response.body)}`)
      assert.equal(response.body.error, 'unavailable')
      assert.match(response.body.message, /not ready/)
    }
  })
})
