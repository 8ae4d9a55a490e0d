import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import { sql } from 'kysely'
import { userToken, VEHICLE } from '../helpers/api.js'
import { eventually, type Harness, inBothModes, startHarness, testEnv } from '../helpers/harness.js'
import { freePort, get, type PamProcess, spawnPam } from '../helpers/process.js'

const WRITES = 300

inBothModes('idempotent writes across a crash', (mode) => {
  let harness: Harness
  let api: PamProcess | undefined
  let base = ''
  let env: Record<string, string>

  const startApi = async () => {
    api = spawnPam(['api'], env)
    await eventually(async () => ((await get(`${base}/health`)).status === 200 ? true : undefined), 60_000, 'pam api')
  }

  before(async () => {
    harness = await startHarness(mode)
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    env = testEnv(mode, harness.databaseUrl, { PORT: String(port), RATE_LIMIT_PER_MINUTE: '100000' })
  })
  after(async () => {
    await api?.stop('SIGKILL')
    await harness.close()
  })

  it('a retry after kill -9 replays or runs once: no write is stored twice', async () => {
    await startApi()
    const authorization = `Bearer ${await userToken(randomUUID())}`
    const post = async (path: string, body: unknown, key?: string) => {
      const response = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
        body: JSON.stringify(body),
      })
      return { status: response.status, body: (await response.json().catch(() => undefined)) as { id?: string } }
    }
    const vehicle = await post('/v1/vehicles', VEHICLE)
    const path = `/v1/vehicles/${vehicle.body.id}/fuel-readings`
    // Each write is told apart by its time: one reading per key is what must be stored.
    const writes = Array.from({ length: WRITES }, (_, i) => ({
      key: `crash-${i}`,
      body: { percent: 50, observedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() },
    }))

    // Kill the API without warning about a third of the way through a burst of writes.
    let answered = 0
    const killed = new Promise<void>((resolve) => {
      const burst = writes.map((write) =>
        post(path, write.body, write.key)
          .then(() => {
            answered += 1
            if (answered === Math.floor(WRITES / 3)) {
              api?.child.kill('SIGKILL')
              resolve()
            }
          })
          .catch(() => undefined),
      )
      void Promise.all(burst).then(() => resolve())
    })
    await killed
    await api?.exited
    assert.ok(answered < WRITES, 'the API died before it had answered every write')

    await startApi()
    // Claims of the requests cut off by the kill are taken over once abandoned: let that time pass.
    await sql`update idempotency_keys set created_at = now() - interval '3 minutes' where completed_at is null`.execute(
      harness.deps.db,
    )
    for (const write of writes) {
      const retried = await post(path, write.body, write.key)
      assert.equal(retried.status, 201, `the retry of ${write.key} succeeds`)
    }

    const rows = await harness.deps.db
      .selectFrom('fuel_readings')
      .select(['observed_at'])
      .where('vehicle_id', '=', vehicle.body.id ?? '')
      .execute()
    const perWrite = new Map<string, number>()
    for (const row of rows) {
      const at = row.observed_at.toISOString()
      perWrite.set(at, (perWrite.get(at) ?? 0) + 1)
    }
    const twice = [...perWrite].filter(([, count]) => count > 1)
    assert.deepEqual(twice, [], 'no write stored twice')
    assert.equal(rows.length, WRITES, 'every write stored once')
  })
})
