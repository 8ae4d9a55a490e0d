import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import { acquireLease } from '../../src/jobs/lease-repository.js'
import { failOrphanedRuns, recordPage, setPages, startRun } from '../../src/monitoring/monitor-run-repository.js'
import { recordBeat } from '../../src/platform/heartbeats/heartbeat-repository.js'
import { type Harness, startHarness } from '../helpers/harness.js'

// Leases and runs live in PostgreSQL in both modes: one mode is enough here.
describe('sweeps after a worker dies', () => {
  let harness: Harness
  before(async () => {
    harness = await startHarness('postgres')
  })
  after(() => harness.close())

  const beat = (id: string) =>
    recordBeat(harness.deps.db, {
      id,
      role: 'worker',
      host: 'test',
      pid: 1,
      queues: ['notifications'],
      concurrency: 1,
      startedAt: new Date(),
    })

  it("a stalled sweep's re-run takes its own lease back; a dead worker's lease is free, a live one's is not", async () => {
    const db = harness.deps.db
    const hour = 3_600_000
    await Promise.all([beat('worker-a'), beat('worker-b'), beat('worker-c')])
    assert.equal(await acquireLease(db, 'test.sweep', { workerId: 'worker-a', jobId: '7' }, hour), true)
    // Another job while worker-a is alive and its lease an hour from expiry: skipped.
    assert.equal(await acquireLease(db, 'test.sweep', { workerId: 'worker-b', jobId: '8' }, hour), false)
    // BullMQ re-runs job 7 on another worker after worker-a stalled: it is the same run.
    assert.equal(await acquireLease(db, 'test.sweep', { workerId: 'worker-b', jobId: '7' }, hour), true)
    // worker-b is killed: its heartbeat goes stale, and a manual run need not wait for the expiry.
    assert.equal(await acquireLease(db, 'test.sweep', { workerId: 'worker-c', jobId: '9' }, hour), false)
    await sql`update worker_heartbeats set last_beat_at = now() - interval '1 minute' where id = 'worker-b'`.execute(db)
    assert.equal(await acquireLease(db, 'test.sweep', { workerId: 'worker-c', jobId: '9' }, hour), true)
  })

  it('a retried page is counted once, so the run closes after its last page and not before', async () => {
    const db = harness.deps.db
    const runId = await startRun(db, 'fuel', { scope: 'full', rules: 'test', startedAt: new Date() })
    await setPages(db, runId, 2)
    const counts = { usersEvaluated: 500, alertsCreated: 100, alertsResolved: 0, degraded: false }
    await recordPage(db, runId, 0, counts)
    await recordPage(db, runId, 0, counts)
    const half = await db.selectFrom('monitor_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow()
    assert.equal(half.status, 'running')
    assert.equal(half.pages_done, 1)
    assert.equal(half.alerts_created, 100)
    await recordPage(db, runId, 1, counts)
    const done = await db.selectFrom('monitor_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow()
    assert.equal(done.status, 'succeeded')
    assert.equal(done.users_evaluated, 1_000)
  })

  it('a run whose sweep died before queuing its pages is closed as failed by the next sweep', async () => {
    const db = harness.deps.db
    const orphan = await startRun(db, 'budget', { scope: 'full', rules: 'test', startedAt: new Date() })
    const fannedOut = await startRun(db, 'budget', { scope: 'full', rules: 'test', startedAt: new Date() })
    await setPages(db, fannedOut, 3)
    assert.equal(await failOrphanedRuns(db, 'budget'), 1)
    const rows = await db.selectFrom('monitor_runs').select(['id', 'status', 'finished_at']).execute()
    const byId = new Map(rows.map((row) => [row.id, row]))
    assert.equal(byId.get(orphan)?.status, 'failed')
    assert.ok(byId.get(orphan)?.finished_at)
    assert.equal(byId.get(fannedOut)?.status, 'running', 'a run whose pages are out is left to them')
  })
})
