import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { mintDevToken } from '../../src/http/auth/dev-token.js'
import { eventually, TEST_JWT_SECRET, testEnv } from '../helpers/harness.js'
import { freePort, get, type PamProcess, spawnPam } from '../helpers/process.js'
import { createTestDatabase } from '../helpers/services.js'

/**
 * `pam watch` against real `pam` processes: an API it watches (restarted under it), a second API
 * that takes writes while the first is down, and a worker that turns readings into alerts.
 */
describe('pam watch', () => {
  let database: { url: string; drop(): Promise<void> }
  let env: Record<string, string>
  const user = randomUUID()
  let token: string
  const ports = { watched: 0, other: 0 }
  const processes: PamProcess[] = []
  const pam = (args: string[], extra: Record<string, string> = {}) => {
    const started = spawnPam(args, { ...env, ...extra })
    processes.push(started)
    return started
  }
  const ready = (port: number) =>
    eventually(
      async () => ((await get(`http://127.0.0.1:${port}/health`)).status === 200 ? true : undefined),
      60_000,
      `the API on ${port}`,
    )
  const post = async (port: number, path: string, body: unknown) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    const text = await response.text()
    assert.ok(response.ok, `${path}: ${response.status} ${text}`)
    return JSON.parse(text) as { id: string }
  }
  /** The lines `watch` printed on stdout that mention `text`. */
  const lines = (watch: PamProcess, text: string) =>
    watch
      .output()
      .split('\n')
      .filter((line) => line.includes(text))

  before(async () => {
    database = await createTestDatabase()
    env = testEnv('postgres', database.url)
    ports.watched = await freePort()
    ports.other = await freePort()
    token = await mintDevToken({ secret: TEST_JWT_SECRET, userId: user, ttl: '1h', audience: 'authenticated' })
  })
  after(async () => {
    await Promise.all(processes.map((process) => process.stop('SIGKILL')))
    await database.drop()
  })

  it('prints an alert a reading raises, and after its server restarts, what happened meanwhile, once', async () => {
    const worker = pam(['worker'])
    let api = pam(['api'], { PORT: String(ports.watched) })
    await ready(ports.watched)
    const watch = pam(['watch', '--user', user, '--url', `http://127.0.0.1:${ports.watched}`], {
      LOG_LEVEL: 'warn',
    })
    await eventually(async () => (watch.output().includes('watching the alerts of') ? true : undefined), 30_000)

    const vehicle = await post(ports.watched, '/v1/vehicles', {
      name: 'Campervan',
      fuelCapacityL: 80,
      consumptionLPer100Km: 12.5,
      odometerKm: 52_000,
    })
    await post(ports.watched, `/v1/vehicles/${vehicle.id}/fuel-readings`, { percent: 15 })
    const first = await eventually(
      async () => lines(watch, 'fuel_low')[0],
      30_000,
      'the fuel_low line of the 15 % reading',
    )
    assert.match(first, /^\d\d:\d\d:\d\d {2}new {7}medium {2}fuel_low {12}\S.* {2}\([0-9a-f]{8}\)$/)

    // The watched API goes away; a reading arrives through another API while it is down, and the
    // worker escalates the alert (15 % → 5 %: a high alert) before the watched API is back.
    assert.equal(await api.stop('SIGTERM'), 0, api.output())
    await eventually(async () => (/reconnecting in/.test(watch.output()) ? true : undefined), 15_000)
    pam(['api'], { PORT: String(ports.other) })
    await ready(ports.other)
    await post(ports.other, `/v1/vehicles/${vehicle.id}/fuel-readings`, { percent: 5 })
    await eventually(
      async () => {
        const response = await fetch(`http://127.0.0.1:${ports.other}/v1/alerts`, {
          headers: { authorization: `Bearer ${token}` },
        })
        const body = (await response.json()) as { items: { priority: string }[] }
        return body.items.some((alert) => alert.priority === 'high') ? true : undefined
      },
      30_000,
      'the high alert, written while the watched API was down',
    )
    assert.equal(lines(watch, ' high ').length, 0, 'not seen before the watched API is back')

    api = pam(['api'], { PORT: String(ports.watched) })
    await ready(ports.watched)
    const high = await eventually(async () => lines(watch, ' high ')[0], 30_000, 'the high alert after the restart')
    assert.match(high, / {2}new {7}high {4}fuel_low /)
    assert.match(watch.output(), /connected; catching up from \d{4}-/)
    // The medium alert is printed once, whatever the replay after the reconnect sent again.
    assert.equal(lines(watch, ' new ').filter((line) => line.includes(' medium ')).length, 1, watch.output())

    assert.equal(await watch.stop('SIGINT'), 0, watch.output())
    assert.equal(await api.stop('SIGTERM'), 0)
    assert.equal(await worker.stop('SIGTERM'), 0)
  })

  it('refuses to run without --user or --token, and with a user id that is not a UUID', async () => {
    for (const args of [[], ['--user', 'nobody']]) {
      const watch = pam(['watch', ...args])
      assert.equal(await watch.exited, 2, watch.output())
      assert.match(watch.output(), /--user|--token/)
    }
  })

  it('gives up, saying why, when the server refuses the token', async () => {
    const port = await freePort()
    const api = pam(['api'], { PORT: String(port) })
    await ready(port)
    const watch = pam(['watch', '--token', 'not-a-token', '--url', `http://127.0.0.1:${port}`])
    assert.equal(await watch.exited, 1, watch.output())
    assert.match(watch.output(), /refused the token \(401\)/)
    assert.equal(await api.stop('SIGTERM'), 0)
  })
})
