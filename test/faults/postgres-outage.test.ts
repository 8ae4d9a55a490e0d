import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { VEHICLE } from '../helpers/api.js'
import { eventually, type Mode } from '../helpers/harness.js'
import {
  type PrivatePostgres,
  type PrivateRedis,
  privatePostgres,
  privateRedis,
  privateRedisUnavailable,
} from '../helpers/private-services.js'
import { freePort, get, type PamProcess, spawnPam } from '../helpers/process.js'
import { answers, remoteTraveller } from '../helpers/remote-api.js'
import { faultEnv } from './fault-env.js'

// The write load of the outage fault runs: 50 POST/s.
const WRITE_INTERVAL_MS = 20
// Writes answered while PostgreSQL is down before it comes back: a few seconds of outage.
const WRITES_DURING_OUTAGE = 150

/**
 * PostgreSQL stops (fast shutdown: every session ends with 57P01) while writes arrive, then comes
 * back. The process must live through it: writes 503 during the outage, 2xx again after it,
 * /health 200 throughout, /ready 503 then 200 — with no restart.
 */
function postgresOutage(mode: Mode) {
  let postgres: PrivatePostgres | undefined
  let redis: PrivateRedis | undefined
  let pam: PamProcess | undefined
  let removeHome: (() => void) | undefined

  before(async () => {
    postgres = await privatePostgres()
    if (mode === 'redis') redis = await privateRedis()
  })
  after(async () => {
    await pam?.stop('SIGKILL')
    removeHome?.()
    await redis?.stop()
    await postgres?.remove()
  })

  it('survives PostgreSQL stopping under a write load and recovers without a restart', async () => {
    if (!postgres) throw new Error('no private PostgreSQL')
    const port = await freePort()
    const base = `127.0.0.1:${port}`
    const { env, remove } = await faultEnv({ databaseUrl: postgres.url, redisUrl: redis?.url }, { PORT: String(port) })
    removeHome = remove
    pam = spawnPam(['start'], env)
    await answers(base, '/ready', 200)
    const traveller = await remoteTraveller(base)
    const vehicle = await traveller.call('POST', '/v1/vehicles', VEHICLE)
    assert.equal(vehicle.status, 201)

    // Writes at a steady pace, each after the previous one answered, all recorded.
    const writes: { at: number; status: number }[] = []
    let writing = true
    const load = (async () => {
      for (let n = 0; writing; n++) {
        const began = Date.now()
        const { status } = await traveller.call('POST', `/v1/vehicles/${vehicle.body.id}/fuel-readings`, {
          percent: 50 + (n % 40),
        })
        writes.push({ at: Date.now(), status })
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, WRITE_INTERVAL_MS - (Date.now() - began))))
      }
    })()

    try {
      await eventually(async () => (writes.some((w) => w.status === 201) ? true : undefined), 30_000, 'a write')
      const stopped = Date.now()
      await postgres.stop()
      await answers(base, '/ready', 503, 30_000)
      const readyDown = Date.now() - stopped
      await eventually(
        async () =>
          writes.filter((w) => w.at > stopped && w.status === 503).length >= WRITES_DURING_OUTAGE ? true : undefined,
        60_000,
        `${WRITES_DURING_OUTAGE} writes answered 503 during the outage`,
      )
      assert.equal((await get(`http://${base}/health`)).status, 200, '/health answers during the outage')

      await postgres.start()
      const back = Date.now()
      await eventually(
        async () => (writes.some((w) => w.at > back && w.status === 201) ? true : undefined),
        30_000,
        'a write accepted after PostgreSQL came back',
      )
      const recoveredMs = (writes.find((w) => w.at > back && w.status === 201)?.at ?? back) - back
      await answers(base, '/ready', 200, 60_000)
      process.stdout.write(
        `# ${mode}: /ready 503 ${readyDown} ms after the stop; first 2xx write ${recoveredMs} ms after PostgreSQL was back; ${writes.length} writes\n`,
      )

      assert.equal(pam.child.exitCode, null, `the process ended:\n${pam.output()}`)
      const statuses = new Set(writes.map((w) => w.status))
      assert.deepEqual(
        [...statuses].filter((s) => s !== 201 && s !== 503),
        [],
        `every write answers 201, or 503 while PostgreSQL is down; errors logged:\n${pam
          .output()
          .split('\n')
          .filter((line) => line.includes('"level":50'))
          .join('\n')}`,
      )
      assert.doesNotMatch(pam.output(), /fatal error; shutting down/)
    } finally {
      writing = false
      await load
    }
    assert.equal(await pam.stop('SIGTERM'), 0, pam.output())
  })
}

describe('PostgreSQL outage under load [postgres-only mode]', () => postgresOutage('postgres'))
const noRedis = privateRedisUnavailable()
describe('PostgreSQL outage under load [redis mode]', noRedis ? { skip: noRedis } : {}, () => postgresOutage('redis'))
