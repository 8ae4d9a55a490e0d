import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { VEHICLE } from '../helpers/api.js'
import { inBothModes, testEnv } from '../helpers/harness.js'
import { type Pooler, poolerUnavailable, startPgBouncer } from '../helpers/pgbouncer.js'
import { freePort, type PamProcess, spawnPam } from '../helpers/process.js'
import { answers, fuelAlertRoundTrip, remoteTraveller } from '../helpers/remote-api.js'
import { createTestDatabase } from '../helpers/services.js'

// Generous for a loaded machine; a write's evaluation runs within milliseconds.
const PROMPTLY_MS = 15_000
const noPooler = poolerUnavailable()

/**
 * PAM behind PgBouncer in transaction mode, as Supabase's pooler runs: DATABASE_URL through the
 * pooler, DATABASE_DIRECT_URL to the server. As deployed: an API and a worker, each a process.
 */
inBothModes('PAM behind a pooler in transaction mode', (mode) => {
  let database: { url: string; drop(): Promise<void> }
  let pooler: Pooler
  const running: PamProcess[] = []
  /** One deployment's environment (its roles share the Redis prefix). */
  const deployment = async (extra: Record<string, string>) => {
    const closed = `http://127.0.0.1:${await freePort()}`
    const env = testEnv(mode, pooler.through(database.url), {
      PLACES_API_URL: closed,
      WEATHER_API_URL: closed,
      PORT: String(await freePort()),
      ...extra,
    })
    return {
      base: `127.0.0.1:${env.PORT}`,
      start(role: string) {
        const pam = spawnPam([role], env)
        running.push(pam)
        return pam
      },
    }
  }

  before(async () => {
    if (noPooler) return
    database = await createTestDatabase()
    pooler = await startPgBouncer(database.url)
  })
  after(async () => {
    await Promise.all(running.map((pam) => pam.stop('SIGKILL')))
    await pooler?.stop()
    await database?.drop()
  })

  it('refuses to start without DATABASE_DIRECT_URL, naming it', { skip: noPooler }, async () => {
    const refused = await deployment({})
    for (const role of ['api', 'worker']) {
      const pam = refused.start(role)
      const code = await Promise.race([
        pam.exited,
        new Promise((resolve) => setTimeout(() => resolve('still running'), 60_000).unref()),
      ])
      assert.equal(code, 1, `${role}: ${pam.output()}`)
      assert.match(pam.output(), /pooler in transaction mode.*set DATABASE_DIRECT_URL/s, role)
    }
  })

  it('with DATABASE_DIRECT_URL, writes through the pooler raise and resolve alerts on the socket', {
    skip: noPooler,
  }, async () => {
    const { base, start } = await deployment({ DATABASE_DIRECT_URL: database.url })
    start('api')
    start('worker')
    await answers(base, '/ready', 200)
    const traveller = await remoteTraveller(base)
    const stream = await traveller.stream()
    try {
      const vehicle = await traveller.call('POST', '/v1/vehicles', VEHICLE)
      assert.equal(vehicle.status, 201)
      // Requests at once over a few server connections, reads and writes: a named prepared
      // statement would meet a server that never saw it, or one that has another by that name.
      const others = await Promise.all(Array.from({ length: 8 }, () => remoteTraveller(base)))
      const answered = await Promise.all(
        others.map(async (other) => {
          const own = await other.call('POST', '/v1/vehicles', VEHICLE)
          const statuses = [own.status]
          for (let i = 0; i < 10; i++) {
            const [listed, got, read] = await Promise.all([
              other.call('GET', '/v1/vehicles'),
              other.call('GET', `/v1/vehicles/${own.body?.id}`),
              other.call('POST', `/v1/vehicles/${own.body?.id}/fuel-readings`, { percent: 60 + i }),
            ])
            statuses.push(listed.status, got.status, read.status)
          }
          return statuses
        }),
      )
      assert.deepEqual(
        answered.flat().filter((status) => status >= 300),
        [],
        'every request through the pooler succeeds',
      )
      await fuelAlertRoundTrip(traveller, stream, vehicle.body.id, PROMPTLY_MS)
    } finally {
      stream.close()
    }
  })
})
