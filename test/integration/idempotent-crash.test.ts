import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import pg from 'pg'
import { userToken, VEHICLE } from '../helpers/api.js'
import { databaseOutage } from '../helpers/database-outage.js'
import { eventually, type Harness, inBothModes, startHarness, testEnv } from '../helpers/harness.js'
import { freePort, get, type PamProcess, spawnPam } from '../helpers/process.js'

const WRITES = 300

inBothModes('idempotent writes across a crash or an outage', (mode) => {
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

  /** A traveller's POST to the API process, with an Idempotency-Key when given. */
  const poster = async () => {
    const authorization = `Bearer ${await userToken(randomUUID())}`
    return async (path: string, body: unknown, key?: string) => {
      const response = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
        body: JSON.stringify(body),
      })
      return {
        status: response.status,
        body: (await response.json().catch(() => undefined)) as { id?: string },
        replayed: response.headers.get('idempotent-replayed'),
      }
    }
  }

  it('a retry after kill -9 replays or runs once: no write is stored twice', async () => {
    await startApi()
    const post = await poster()
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

  /** The ids of a vehicle's stored readings. */
  const readingsOf = async (vehicleId = '') =>
    (await harness.deps.db.selectFrom('fuel_readings').select('id').where('vehicle_id', '=', vehicleId).execute()).map(
      (row) => row.id,
    )

  /** Holds a lock that makes every fuel reading's insert wait, until `release`. */
  const lockReadings = async () => {
    const locker = new pg.Client({ connectionString: harness.databaseUrl })
    locker.on('error', () => undefined)
    await locker.connect()
    await locker.query('begin')
    await locker.query('lock table fuel_readings in share mode')
    const { rows } = await locker.query<{ pid: number }>('select pg_backend_pid() as pid')
    return {
      /** The lock holder's session: an outage that ended it could let a waiting write through first. */
      pid: rows[0]?.pid ?? 0,
      /** Until `count` statements wait for the lock. */
      waiting: (count: number) =>
        eventually(
          async () => {
            const { rows } = await locker.query(
              // Waiting for this lock only: an evaluation waiting for a traveller's lock is not a write.
              `select 1 from pg_locks where not granted and relation = 'fuel_readings'::regclass
                 and database = (select oid from pg_database where datname = current_database())`,
            )
            return rows.length >= count ? true : undefined
          },
          15_000,
          `${count} write(s) waiting for the lock, their key claimed`,
        ),
      release: () => locker.end().catch(() => undefined),
    }
  }

  it('a retry that takes over the key of a request still running: one of the two writes is stored', async () => {
    if (api?.child.exitCode !== null) await startApi()
    const post = await poster()
    const vehicle = await post('/v1/vehicles', VEHICLE)
    const path = `/v1/vehicles/${vehicle.body.id}/fuel-readings`
    const key = `slow-${randomUUID()}`
    const locker = await lockReadings()
    try {
      const slow = post(path, { percent: 30 }, key)
      await locker.waiting(1)
      assert.equal((await post(path, { percent: 30 }, key)).status, 409, 'the first still runs')
      // Past the claim's lease the retry takes the key over while the first still waits.
      await sleep(6_000)
      const retry = post(path, { percent: 30 }, key)
      await locker.waiting(2)
      await locker.release()
      const answers = [await slow, await retry]
      assert.deepEqual(
        answers.map((answer) => answer.status),
        [409, 201],
        'the request taken over wrote nothing; its retry did',
      )
      assert.deepEqual(await readingsOf(vehicle.body.id), [answers[1]?.body.id])
    } finally {
      await locker.release()
    }
  })

  it('a write cut off by a database outage holds its key for seconds, not minutes: the retry stores it once', async () => {
    if (api?.child.exitCode !== null) await startApi()
    const post = await poster()
    const vehicle = await post('/v1/vehicles', VEHICLE)
    const path = `/v1/vehicles/${vehicle.body.id}/fuel-readings`
    const key = `outage-${randomUUID()}`
    const body = { percent: 40 }

    // The write claims its key, then waits for a table lock: PostgreSQL goes away while it waits.
    const locker = await lockReadings()
    const cutOff = post(path, body, key)
    await locker.waiting(1)
    // The lock is held through the outage: were its session ended with the others, the write
    // could take the lock, store and commit before its own session's turn to be ended.
    const outage = await databaseOutage(harness.databaseUrl, [locker.pid])
    try {
      assert.equal((await cutOff).status, 503, 'the write failed with the database')
      await sleep(1_000)
    } finally {
      await outage.restore()
      await locker.release()
    }
    const back = Date.now()
    const statuses: number[] = []
    const stored = await eventually(
      async () => {
        const retried = await post(path, body, key)
        statuses.push(retried.status)
        return retried.status === 201 ? retried : undefined
      },
      60_000,
      'the retry stored',
    )
    const waited = Date.now() - back
    process.stdout.write(
      `# ${mode}: the retry succeeded ${waited} ms after the database was back (${statuses.length} tries)\n`,
    )
    assert.ok(waited < 15_000, `the key was held ${waited} ms after the database was back`)
    assert.deepEqual(
      [...new Set(statuses)].filter((status) => status !== 201 && status !== 409 && status !== 503),
      [],
      'meanwhile: 409 (the key still held) or 503',
    )
    const again = await post(path, body, key)
    assert.deepEqual([again.status, again.body.id, again.replayed], [201, stored.body.id, 'true'])
    assert.deepEqual(await readingsOf(vehicle.body.id), [stored.body.id], 'stored exactly once')
  })
})
