import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { buildApiApp } from '../../src/app/roles/api.js'
import { startWorker } from '../../src/app/roles/worker.js'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import { waitingUsers } from '../../src/monitoring/evaluation-mark-repository.js'
import { fuel } from '../../src/monitoring/monitors/fuel/monitor.js'
import { QUEUE_NAMES } from '../../src/platform/backend/queue-names.js'
import { client, userToken, VEHICLE } from '../helpers/api.js'
import { eventually, type Harness, startHarness } from '../helpers/harness.js'

// Postgres-only mode asks every worker over the bus for a write's evaluation; the worker whose
// session claims the user evaluates it (src/jobs/prompt-evaluations.ts).
describe('Postgres-only mode evaluates a write without a queue job', () => {
  let harness: Harness
  let producer: Producer
  let app: FastifyInstance
  const controller = new AbortController()
  const workers: Awaited<ReturnType<typeof startWorker>>[] = []

  before(async () => {
    harness = await startHarness('postgres')
    producer = createProducer(harness.deps.backend, harness.deps.logger)
    app = await buildApiApp(harness.deps, producer)
    // Two workers, each with its own claims session, as two worker processes would have.
    for (let i = 0; i < 2; i++) {
      workers.push(await startWorker(harness.deps, controller.signal, { queues: QUEUE_NAMES, concurrency: 2 }))
    }
  })
  after(async () => {
    controller.abort()
    for (const worker of workers) await worker.stop()
    await app.close()
    await producer.close()
    await harness.close()
  })

  const traveller = async () => {
    const id = randomUUID()
    const call = client(app, await userToken(id))
    const vehicle = (await call('POST', '/v1/vehicles', VEHICLE)).body.id as string
    return { id, call, vehicle }
  }
  const openAlert = (userId: string) =>
    harness.deps.db
      .selectFrom('alerts')
      .select('id')
      .where('user_id', '=', userId)
      .where('kind', '=', 'fuel_low')
      .where('resolved_at', 'is', null)
      .executeTakeFirst()

  it('each write is evaluated once by one of two workers, and no evaluation job is queued', async () => {
    const travellers = await Promise.all(Array.from({ length: 20 }, traveller))
    const ids: string[] = travellers.map((t) => t.id)
    const marksCleared = (what: string) =>
      eventually(
        async () =>
          (await waitingUsers(harness.deps.db, 'fuel', 0, 1000)).some((id) => ids.includes(id)) ? undefined : true,
        30_000,
        what,
      )
    const applies = async () => {
      const fences = await harness.deps.db
        .selectFrom('evaluation_fences')
        .select(['user_id', 'applies'])
        .where('monitor', '=', 'fuel')
        .where('user_id', 'in', ids)
        .execute()
      return new Map(fences.map((fence) => [fence.user_id, Number(fence.applies)]))
    }
    // Adding the vehicle was a write the fuel monitor evaluates too: counted from after it.
    await marksCleared("the vehicles' evaluations")
    const before = await applies()
    for (const t of travellers) {
      assert.equal((await t.call('POST', `/v1/vehicles/${t.vehicle}/fuel-readings`, { percent: 15 })).status, 201)
    }
    for (const t of travellers) await eventually(() => openAlert(t.id), 30_000, `${t.id}'s fuel alert`)
    await marksCleared("the readings' evaluations")
    const after = await applies()
    // Heard by both workers, evaluated by one: a second evaluation would have counted a second apply.
    assert.deepEqual(
      ids.map((id) => (after.get(id) ?? 0) - (before.get(id) ?? 0)),
      ids.map(() => 1),
    )
    // The workers count every job they run: none was an evaluation.
    const ran = (await harness.deps.metrics.jobs.get()).values.filter(
      (value) => value.labels.task === fuel.tasks.evaluate && value.value > 0,
    )
    assert.deepEqual(ran, [])
  })

  it('a write whose user another session holds is evaluated once that session ends, as when its worker is killed', async () => {
    const t = await traveller()
    // What a worker killed mid-evaluation leaves: a session holding the user's claim.
    const holder = new pg.Client({ connectionString: harness.databaseUrl })
    // Ended from outside below: its error is the point, not a failure.
    holder.on('error', () => undefined)
    await holder.connect()
    const [{ pid }] = (await holder.query<{ pid: number }>('select pg_backend_pid() as pid')).rows as [{ pid: number }]
    await holder.query('select pg_advisory_lock(hashtext($1), hashtext($2))', ['fuel', t.id])
    const admin = new pg.Client({ connectionString: harness.databaseUrl })
    await admin.connect()
    try {
      assert.equal((await t.call('POST', `/v1/vehicles/${t.vehicle}/fuel-readings`, { percent: 15 })).status, 201)
      // The workers try the claim for a while; the write waits, marked.
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      assert.equal(await openAlert(t.id), undefined, 'not evaluated while another holds the claim')
      await admin.query('select pg_terminate_backend($1)', [pid])
      await eventually(() => openAlert(t.id), 30_000, 'the fuel alert once the claim is gone')
    } finally {
      await holder.end().catch(() => undefined)
      await admin.end()
    }
  })
})
