import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import pg from 'pg'
import { buildApiApp } from '../../src/app/roles/api.js'
import { startWorker } from '../../src/app/roles/worker.js'
import { createProducer } from '../../src/jobs/producer.js'
import { syncSchedules } from '../../src/jobs/schedules.js'
import { applyEvaluations } from '../../src/monitoring/alerts/alert-store.js'
import { readSeen, seenGuard, waitingUsers } from '../../src/monitoring/evaluation-mark-repository.js'
import { fuel } from '../../src/monitoring/monitors/fuel/monitor.js'
import { monitors, monitorThresholds } from '../../src/monitoring/registry.js'
import { QUEUE_NAMES } from '../../src/platform/backend/queue-names.js'
import { type AlertStack, startAlertStack } from '../helpers/alert-stack.js'
import { client, userToken, VEHICLE } from '../helpers/api.js'
import { eventually, type Harness, inBothModes, startHarness } from '../helpers/harness.js'

const openFuelAlerts = async (harness: Harness, userIds: readonly string[]) => {
  const rows = await harness.deps.db
    .selectFrom('alerts')
    .select(['user_id', 'data'])
    .where('user_id', 'in', [...userIds])
    .where('kind', '=', 'fuel_low')
    .where('resolved_at', 'is', null)
    .execute()
  return new Set(rows.map((row) => (row.data as { vehicleId: string }).vehicleId))
}

inBothModes('every accepted write is evaluated', (mode) => {
  describe('through the queue', () => {
    let stack: AlertStack
    before(async () => {
      // Many writes from one user in a short time: the per-user limit is not what is tested here.
      stack = await startAlertStack(mode, { RATE_LIMIT_PER_MINUTE: '100000' })
    })
    after(() => stack.close())

    it('1,000 low readings, one user and many, one after another and in bursts: 1,000 open alerts', async () => {
      const one = await stack.traveller()
      const many = await Promise.all(Array.from({ length: 20 }, () => stack.traveller()))
      try {
        // 400 vehicles of one traveller, 30 of each of the 20 others.
        const vehiclesOf = async (call: typeof one.call, count: number) => {
          const ids: string[] = []
          for (let i = 0; i < count; i++) ids.push((await call('POST', '/v1/vehicles', VEHICLE)).body.id)
          return ids
        }
        const oneVehicles = await vehiclesOf(one.call, 400)
        const manyVehicles = await Promise.all(many.map((t) => vehiclesOf(t.call, 30)))
        const read = async (call: typeof one.call, vehicleId: string) =>
          assert.equal((await call('POST', `/v1/vehicles/${vehicleId}/fuel-readings`, { percent: 15 })).status, 201)

        // One traveller: 200 one after another (each after the previous answered), then 200 in bursts of 50.
        for (const id of oneVehicles.slice(0, 200)) await read(one.call, id)
        for (let i = 200; i < 400; i += 50) {
          await Promise.all(oneVehicles.slice(i, i + 50).map((id) => read(one.call, id)))
        }
        // Twenty travellers at once: each one after another, all of them in parallel.
        await Promise.all(
          many.map(async (t, index) => {
            for (const id of manyVehicles[index] ?? []) await read(t.call, id)
          }),
        )

        const wanted = new Set([...oneVehicles, ...manyVehicles.flat()])
        assert.equal(wanted.size, 1_000)
        const users = [one.id, ...many.map((t) => t.id)]
        const missing = await eventually(
          async () => {
            const open = await openFuelAlerts(stack.harness, users)
            const absent = [...wanted].filter((id) => !open.has(id))
            return absent.length === 0 ? absent : undefined
          },
          60_000,
          'an open fuel alert for every one of the 1,000 vehicles',
        )
        assert.deepEqual(missing, [])
        // An evaluation that loaded a write's data before that write's mark was read leaves the
        // mark to the write's own job, which may still be on its way when the last alert opens.
        await eventually(
          async () => {
            const left = await stack.harness.deps.db
              .selectFrom('evaluation_marks')
              .select('user_id')
              .where('user_id', 'in', users)
              .execute()
            return left.length === 0 ? left : undefined
          },
          60_000,
          'every evaluation mark cleared once its writes are evaluated',
        )
      } finally {
        for (const t of [one, ...many]) t.stream.close()
      }
    })

    it("a write's evaluation job is not kept once done: its outcome is the alert and the fence", async () => {
      const who = await stack.traveller()
      try {
        const vehicle = (await who.call('POST', '/v1/vehicles', VEHICLE)).body.id
        await who.call('POST', `/v1/vehicles/${vehicle}/fuel-readings`, { percent: 15 })
        await who.stream.next((m) => m.type === 'alert.created', 15_000)
        const queue = stack.producer.queues.get(fuel.queue)
        const ours = (jobs: { name: string; data: unknown }[] = []) =>
          jobs.filter((job) => job.name === fuel.tasks.evaluate && (job.data as { userId?: string }).userId === who.id)
        // The alert is published before its job is marked done.
        await eventually(
          async () =>
            ours(await queue?.getJobs(['active', 'waiting', 'prioritized'], 0, 99)).length === 0 ? true : undefined,
          15_000,
          "the traveller's evaluations to finish",
        )
        assert.deepEqual(ours(await queue?.getCompleted(0, 99)), [])
      } finally {
        who.stream.close()
      }
    })
  })

  describe('when the evaluation job is lost', () => {
    let harness: Harness
    before(async () => {
      harness = await startHarness(mode, { EVALUATION_DRAIN_GRACE_MS: '0' })
    })
    after(() => harness.close())

    it('the drainer evaluates the write within seconds, from the mark written with it', async () => {
      const producer = createProducer(harness.deps.backend, harness.deps.logger)
      const app = await buildApiApp(harness.deps, producer)
      const controller = new AbortController()
      let worker: Awaited<ReturnType<typeof startWorker>> | undefined
      try {
        const userId = randomUUID()
        const call = client(app, await userToken(userId))
        const vehicle = (await call('POST', '/v1/vehicles', VEHICLE)).body
        assert.equal((await call('POST', `/v1/vehicles/${vehicle.id}/fuel-readings`, { percent: 15 })).status, 201)
        // The evaluation jobs the writes queued are lost (as with a Redis that lost its data).
        for (const queue of producer.queues.values()) await queue.obliterate({ force: true })

        worker = await startWorker(harness.deps, controller.signal, { queues: QUEUE_NAMES, concurrency: 2 })
        await syncSchedules(producer, harness.deps.logger, [
          { id: 'pam-evaluation-drain', task: 'evaluations.drain', pattern: '* * * * * *' },
        ])
        const open = await eventually(
          async () => ((await openFuelAlerts(harness, [userId])).has(vehicle.id) ? true : undefined),
          30_000,
          'the drainer to open the fuel alert',
        )
        assert.equal(open, true)
      } finally {
        await syncSchedules(producer, harness.deps.logger, [])
        controller.abort()
        await worker?.stop()
        await app.close()
        await producer.close()
      }
    })

    it('an evaluation clears only the marks it saw: a write that came in meanwhile keeps its mark', async () => {
      const db = harness.deps.db
      const [early, late] = [randomUUID(), randomUUID()]
      await db
        .insertInto('users')
        .values([{ id: early }, { id: late }])
        .execute()
      // A van each: fuel and maintenance read vehicles, so both are marked.
      const vans = await db
        .insertInto('vehicles')
        .values(
          [early, late].map((user_id) => ({
            user_id,
            name: 'van',
            fuel_capacity_l: 80,
            consumption_l_per_100km: 12,
            odometer_km: 0,
          })),
        )
        .returning(['id', 'user_id'])
        .execute()
      const seen = await readSeen(db, 'fuel', 'fuel_low', [early, late])
      // A write of `late` lands while the evaluation runs.
      const lateVan = vans.find((van) => van.user_id === late)?.id ?? ''
      await db
        .insertInto('fuel_readings')
        .values({ user_id: late, vehicle_id: lateVan, percent: 50, observed_at: new Date() })
        .execute()
      await applyEvaluations(
        db,
        new Map([early, late].map((id) => [id, { conditions: [], drafts: [] }])),
        seenGuard('fuel', seen),
      )
      const waiting = async (monitor: 'fuel' | 'maintenance') =>
        (await waitingUsers(db, monitor, 0, 100)).filter((id) => id === early || id === late).sort()
      assert.deepEqual(await waiting('fuel'), [late])
      assert.deepEqual(await waiting('maintenance'), [early, late].sort(), 'other monitors keep their marks')
    })

    it("a guarded evaluation waits for the user's alert lock before its fence and marks", async () => {
      const db = harness.deps.db
      const userId = randomUUID()
      await db.insertInto('users').values({ id: userId }).execute()
      await db
        .insertInto('vehicles')
        .values({ user_id: userId, name: 'van', fuel_capacity_l: 80, consumption_l_per_100km: 12, odometer_km: 0 })
        .execute()
      const seen = await readSeen(db, 'fuel', 'fuel_low', [userId])
      // Another evaluation of the user holds its lock, as the store's transaction does.
      const holder = new pg.Client({ connectionString: harness.databaseUrl })
      await holder.connect()
      try {
        await holder.query('begin')
        await holder.query(`select pg_advisory_xact_lock(hashtext('alerts:' || $1::text))`, [userId])
        const applying = applyEvaluations(
          db,
          new Map([[userId, { conditions: [], drafts: [] }]]),
          seenGuard('fuel', seen),
        )
        await eventually(
          async () => {
            const { rows } = await holder.query(
              `select 1 from pg_locks l join pg_database d on d.oid = l.database
               where d.datname = current_database() and l.locktype = 'advisory' and not l.granted`,
            )
            return rows.length > 0 ? true : undefined
          },
          15_000,
          'the evaluation to wait for the lock',
        )
        const { rows: fence } = await holder.query(
          "select 1 from evaluation_fences where monitor = 'fuel' and user_id = $1",
          [userId],
        )
        assert.equal(fence.length, 0, 'nothing fenced while the lock is held')
        await holder.query('commit')
        await applying
        assert.deepEqual((await waitingUsers(db, 'fuel', 0, 1000)).includes(userId), false, 'its mark cleared')
      } finally {
        await holder.end()
      }
    })

    it('an evaluation takes its mark before any alert: a write that holds the mark and then resolves an alert goes through', async () => {
      const db = harness.deps.db
      const userId = randomUUID()
      await db.insertInto('users').values({ id: userId }).execute()
      const van = await db
        .insertInto('vehicles')
        .values({ user_id: userId, name: 'van', fuel_capacity_l: 80, consumption_l_per_100km: 12, odometer_km: 0 })
        .returning('id')
        .executeTakeFirstOrThrow()
      const condition = `fuel:${van.id}`
      const alert = await db
        .insertInto('alerts')
        .values({
          user_id: userId,
          kind: 'fuel_low',
          priority: 'medium',
          title: 'low',
          body: 'low',
          data: '{}',
          dedupe_key: `${condition}|medium`,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      // The van's insert marked the user; the evaluation read that mark and clears the alert.
      const seen = await readSeen(db, 'fuel', 'fuel_low', [userId])
      assert.ok(seen.get(userId)?.version, 'the van marked its user')
      assert.deepEqual(seen.get(userId)?.openConditions, [condition])
      // A write holds the mark (as recording a service does: its trigger marks the user), then resolves the alert.
      const writer = new pg.Client({ connectionString: harness.databaseUrl })
      await writer.connect()
      try {
        await writer.query('begin')
        await writer.query("select 1 from evaluation_marks where monitor = 'fuel' and user_id = $1 for update", [
          userId,
        ])
        const applying = applyEvaluations(
          db,
          new Map([[userId, { conditions: [condition], drafts: [] }]]),
          seenGuard('fuel', seen),
        )
        await eventually(
          async () => {
            const { rows } = await writer.query(
              `select 1 from pg_locks l join pg_stat_activity a on a.pid = l.pid
               where a.datname = current_database() and l.locktype in ('transactionid', 'tuple') and not l.granted`,
            )
            return rows.length > 0 ? true : undefined
          },
          15_000,
          'the evaluation to wait for the mark',
        )
        // Had the evaluation locked the alert first, this would wait for it while it waits for the mark: a deadlock.
        await writer.query("set lock_timeout = '5s'")
        await writer.query('update alerts set resolved_at = now() where id = $1 and resolved_at is null', [alert.id])
        await writer.query('commit')
        const { applied } = await applying
        assert.deepEqual(applied.get(userId)?.resolved, [], 'the write resolved it first')
      } finally {
        await writer.end()
      }
    })

    it('an evaluation that read older data and arrives after a newer one does not undo it', async () => {
      const db = harness.deps.db
      const producer = createProducer(harness.deps.backend, harness.deps.logger)
      const app = await buildApiApp(harness.deps, producer)
      try {
        const services = {
          bus: harness.deps.backend.bus,
          places: harness.deps.places,
          weather: harness.deps.weather,
          thresholds: monitorThresholds(harness.config),
          enqueue: producer.enqueue,
          drainGraceMs: 0,
        }
        const userId = randomUUID()
        const call = client(app, await userToken(userId))
        const [first, second] = [
          (await call('POST', '/v1/vehicles', VEHICLE)).body.id,
          (await call('POST', '/v1/vehicles', VEHICLE)).body.id,
        ]
        await call('POST', `/v1/vehicles/${first}/fuel-readings`, { percent: 15 })
        const evaluateNow = async () => {
          const seen = await readSeen(db, 'fuel', 'fuel_low', [userId])
          const { evaluations } = await fuel.evaluate(
            db,
            [userId],
            services,
            fuel.thresholds(harness.config),
            new Date(),
          )
          return () => applyEvaluations(db, evaluations, seenGuard('fuel', seen))
        }
        // A slow evaluation reads the data now: the second van has no reading yet.
        const slow = await evaluateNow()
        await call('POST', `/v1/vehicles/${second}/fuel-readings`, { percent: 15 })
        // A quicker one reads after the second reading and stores both alerts first.
        await (await evaluateNow())()
        assert.deepEqual([...(await openFuelAlerts(harness, [userId]))].sort(), [first, second].sort())
        // The slow one arrives last; applied, it would resolve the second van's alert.
        const stale = await slow()
        assert.deepEqual(stale, { applied: new Map(), overtaken: [userId] }, 'the overtaken evaluation changes nothing')
        assert.deepEqual([...(await openFuelAlerts(harness, [userId]))].sort(), [first, second].sort())
      } finally {
        await app.close()
        await producer.close()
      }
    })
  })
})

// What the triggers do depends on PostgreSQL alone: one mode is enough.
describe('every writer marks what it changed, in its own statement', () => {
  let harness: Harness
  before(async () => {
    harness = await startHarness('postgres')
  })
  after(() => harness.close())

  const marks = async (userIds: readonly string[]) =>
    (
      await harness.deps.db
        .selectFrom('evaluation_marks')
        .select(['user_id', 'monitor'])
        .where('user_id', 'in', [...userIds])
        .orderBy('monitor')
        .orderBy('user_id')
        .execute()
    ).map((row) => `${row.monitor}:${row.user_id === userIds[0] ? 'a' : 'b'}`)
  const forget = (userIds: readonly string[]) =>
    harness.deps.db
      .deleteFrom('evaluation_marks')
      .where('user_id', 'in', [...userIds])
      .execute()

  it('marks a moved row for both users, a deleted one for its user, nothing for a rolled-back write or a deleted user', async () => {
    const db = harness.deps.db
    const users = [randomUUID(), randomUUID()].sort()
    const [a, b] = users as [string, string]
    await db
      .insertInto('users')
      .values(users.map((id) => ({ id })))
      .execute()
    const { rows } = await sql<{ id: string }>`
      insert into vehicles (user_id, name, fuel_capacity_l, consumption_l_per_100km) values (${a}, 'van', 80, 12)
      returning id`.execute(db)
    const van = rows[0]?.id
    assert.deepEqual(await marks(users), ['fuel:a', 'maintenance:a'])

    await forget(users)
    await sql`update vehicles set user_id = ${b} where id = ${van}`.execute(db)
    assert.deepEqual(await marks(users), ['fuel:a', 'fuel:b', 'maintenance:a', 'maintenance:b'])

    await forget(users)
    await sql`delete from vehicles where id = ${van}`.execute(db)
    assert.deepEqual(await marks(users), ['fuel:b', 'maintenance:b'])

    await forget(users)
    await db
      .transaction()
      .execute(async (trx) => {
        await sql`insert into expenses (user_id, amount, currency, category, spent_at) values (${a}, 5, 'EUR', 'food', now())`.execute(
          trx,
        )
        throw new Error('rolled back')
      })
      .catch(() => undefined)
    assert.deepEqual(await marks(users), [], 'a write that did not commit left no mark')

    await sql`insert into trips (user_id, name, destination_name, destination_lat, destination_lon, depart_from, depart_until, days)
              values (${a}, 'Arches', 'Moab', 38.57, -109.55, current_date, current_date + 5, 3)`.execute(db)
    await forget(users)
    // The user's rows go with it (cascade): their triggers must not mark a user that is going.
    await sql`delete from users where id = ${a}`.execute(db)
    assert.deepEqual(await marks(users), [])
  })

  it('every input table has its marking triggers, and monitor_inputs says what the registry says', async () => {
    const db = harness.deps.db
    const { rows } = await sql<{ table: string; definition: string }>`
      select c.relname as table, pg_get_triggerdef(t.oid) as definition
      from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_proc p on p.oid = t.tgfoid
      where p.proname = 'mark_for_evaluation' and not t.tgisinternal`.execute(db)
    const installed = rows
      .flatMap((row) =>
        ['INSERT', 'UPDATE', 'DELETE']
          .filter((e) => row.definition.includes(`AFTER ${e} `))
          .map((e) => `${row.table} ${e}`),
      )
      .sort()
    const tables = [...new Set(monitors().flatMap((monitor) => monitor.inputs))]
    assert.deepEqual(
      installed,
      tables.flatMap((table) => ['INSERT', 'UPDATE', 'DELETE'].map((e) => `${table} ${e}`)).sort(),
      'a monitor reads a table without marking triggers: add a migration that creates them',
    )
    const recorded = await db.selectFrom('monitor_inputs').selectAll().execute()
    assert.deepEqual(
      recorded.map((row) => `${row.input_table}: ${row.monitor}`).sort(),
      monitors()
        .flatMap((monitor) => monitor.inputs.map((table) => `${table}: ${monitor.name}`))
        .sort(),
    )
  })
})
