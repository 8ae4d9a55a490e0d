import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import { Redis } from 'ioredis'
import { sql } from 'kysely'
import type { RunningRole } from '../../src/app/roles/role.js'
import { startWorker } from '../../src/app/roles/worker.js'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import { schedules, syncSchedules } from '../../src/jobs/schedules.js'
import { type Bus, jsonText } from '../../src/platform/backend/backend.js'
import { QUEUE_NAMES } from '../../src/platform/backend/queue-names.js'
import { eventually, type Harness, inBothModes, startHarness } from '../helpers/harness.js'
import { testRedisUrl } from '../helpers/services.js'

/** What a subscriber to `channel` hears: `first(n)` waits for n messages and gives them all. */
async function listen(bus: Bus, channel: string) {
  const received: unknown[] = []
  const unsubscribe = await bus.subscribe(channel, (message) => received.push(message))
  return {
    unsubscribe,
    async first(count: number) {
      await eventually(async () => (received.length >= count ? true : undefined), 5_000, `${count} bus messages`)
      return received
    },
  }
}

inBothModes('queues, workers, schedules and the bus', (mode) => {
  let harness: Harness
  let producer: Producer
  let worker: RunningRole
  const controller = new AbortController()

  before(async () => {
    harness = await startHarness(mode)
    producer = createProducer(harness.deps.backend, harness.deps.logger)
    worker = await startWorker(harness.deps, controller.signal, { queues: QUEUE_NAMES, concurrency: 2 })
  })
  after(async () => {
    controller.abort()
    await worker.stop()
    await producer.close()
    await harness.close()
  })

  async function finished(queue: string, id: string) {
    const q = producer.queues.get(queue as (typeof QUEUE_NAMES)[number])
    return eventually(
      async () => {
        const job = await q?.getJob(id)
        if (job && (job.finishedOn || job.failedReason)) return job
        return undefined
      },
      15_000,
      `job ${id}`,
    )
  }

  it('runs a task on its routed queue and stores its result', async () => {
    const { id, queue } = await producer.enqueue('ops.ping', {})
    assert.equal(queue, 'notifications')
    const job = await finished(queue, id)
    assert.equal(job.failedReason, undefined)
    const result = job.returnvalue as { pong: boolean; workerId: string }
    assert.equal(result.pong, true)
    assert.match(result.workerId, /^worker-/)
  })

  it('cleans up expired alerts, old idempotency keys and dead heartbeats in housekeeping', async () => {
    const { db } = harness.deps
    const user = randomUUID()
    await db.insertInto('users').values({ id: user }).execute()
    const alert = {
      user_id: user,
      kind: 'context_suggestion' as const,
      priority: 'low' as const,
      title: 't',
      body: 'b',
      data: '{}',
    }
    await db
      .insertInto('alerts')
      .values([
        { ...alert, dedupe_key: 'expired', expires_at: sql<Date>`now() - interval '1 minute'` },
        { ...alert, dedupe_key: 'current', expires_at: sql<Date>`now() + interval '1 hour'` },
      ])
      .execute()
    const key = { user_id: user, request_hash: 'h', method: 'POST', path: '/v1/expenses' }
    await db
      .insertInto('idempotency_keys')
      .values([
        { ...key, key: 'old', created_at: sql<Date>`now() - interval '25 hours'` },
        { ...key, key: 'fresh' },
      ])
      .execute()
    await db
      .insertInto('worker_heartbeats')
      .values({
        id: 'long-gone',
        role: 'worker',
        host: 'h',
        pid: 1,
        queues: ['analytics'],
        concurrency: 1,
        started_at: new Date(),
        last_beat_at: sql<Date>`now() - interval '2 days'`,
      })
      .execute()

    const { id, queue } = await producer.enqueue('housekeeping.cleanup', {})
    const job = await finished(queue, id)
    assert.deepEqual(job.returnvalue, {
      alertsExpired: 1,
      idempotencyKeysDeleted: 1,
      heartbeatsPruned: 1,
      monitorRunsDeleted: 0,
      cacheEntriesDeleted: 0,
      throttleWindowsDeleted: 0,
      emailSendsDeleted: 0,
      timeZones: { added: 0, removed: 0 },
    })

    const open = await db.selectFrom('alerts').select('dedupe_key').where('resolved_at', 'is', null).execute()
    assert.deepEqual(
      open.map((row) => row.dedupe_key),
      ['current'],
    )
    const keys = await db.selectFrom('idempotency_keys').select('key').execute()
    assert.deepEqual(
      keys.map((row) => row.key),
      ['fresh'],
    )
  })

  it('fails a job of an unknown task at once, without retrying it', async () => {
    const queue = producer.queues.get('analytics')
    const job = await queue?.add('no.such.task', {}, { attempts: 5, priority: 1 })
    assert.ok(job?.id)
    const done = await finished('analytics', job.id)
    assert.match(done.failedReason ?? '', /unknown task no\.such\.task/)
    assert.equal(done.attemptsMade, 1)
  })

  it('keeps schedules in step with code: upserting twice makes one, stale ones are removed', async () => {
    const log = harness.deps.logger
    const maintenance = producer.queues.get('maintenance')
    assert.ok(maintenance)
    await maintenance.upsertJobScheduler('pam-retired-task', { every: 60_000 }, { name: 'ops.ping', data: {} })
    const wanted = schedules(harness.config)
    await syncSchedules(producer, log, wanted)
    const before = (await maintenance.getJobSchedulers()).sort((a, b) => a.key.localeCompare(b.key))
    assert.deepEqual(
      before.map((scheduler) => [scheduler.key, scheduler.pattern]),
      [
        ['pam-housekeeping', harness.config.SCHEDULE_HOUSEKEEPING],
        ['pam-maintenance-monitoring', harness.config.SCHEDULE_MAINTENANCE_MONITORING],
      ],
    )
    const byQueue: Record<string, string[]> = {}
    for (const [name, queue] of producer.queues) {
      byQueue[name] = (await queue.getJobSchedulers()).map((scheduler) => scheduler.key).sort()
    }
    assert.deepEqual(byQueue, {
      notifications: [
        'pam-context-monitoring',
        'pam-delivery-drain',
        'pam-digests',
        'pam-evaluation-drain',
        'pam-fuel-monitoring',
      ],
      analytics: ['pam-briefings', 'pam-budget-analysis', 'pam-weather-monitoring'],
      maintenance: ['pam-housekeeping', 'pam-maintenance-monitoring'],
    })

    // A restart: another producer syncs the same list. Nothing moves, nothing is added.
    const restarted = createProducer(harness.deps.backend, log)
    try {
      await syncSchedules(restarted, log, wanted)
    } finally {
      await restarted.close()
    }
    const afterRestart = (await maintenance.getJobSchedulers()).sort((a, b) => a.key.localeCompare(b.key))
    assert.deepEqual(
      afterRestart.map((scheduler) => [scheduler.key, scheduler.next]),
      before.map((scheduler) => [scheduler.key, scheduler.next]),
    )
    const pending = await maintenance.getDelayed()
    assert.equal(pending.filter((job) => job.repeatJobKey === 'pam-housekeeping').length, 1)
  })

  it('delivers bus messages to subscribers, and stops after unsubscribing', async () => {
    const { bus } = harness.deps.backend
    const received: unknown[] = []
    const unsubscribe = await bus.subscribe('alerts', (message) => received.push(message))
    await bus.publish('alerts', jsonText({ type: 'alert.created', userId: 'u1' }))
    await eventually(async () => (received.length === 1 ? true : undefined), 5_000, 'a bus message')
    assert.deepEqual(received, [{ type: 'alert.created', userId: 'u1' }])

    await unsubscribe()
    await bus.publish('alerts', jsonText({ type: 'alert.created', userId: 'u2' }))
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(received.length, 1)
  })

  it("delivers every message of one publish, in order (a sweep page's alerts)", async () => {
    const { bus } = harness.deps.backend
    const heard = await listen(bus, 'pages')
    const messages = Array.from({ length: 40 }, (_, n) => ({ n, events: 'x'.repeat(6_000) }))
    await bus.publish('pages', ...messages.map(jsonText))
    assert.deepEqual(await heard.first(40), messages)
    await heard.unsubscribe()
  })

  it("still delivers a publish's other messages when one is too long for NOTIFY", async () => {
    const { bus } = harness.deps.backend
    const heard = await listen(bus, 'long')
    const long = { n: 2, events: 'x'.repeat(9_000) }
    const sent = bus.publish('long', ...[{ n: 1 }, long, { n: 3 }].map(jsonText))
    if (mode === 'postgres') await assert.rejects(sent, /1 bus message\(s\) of 8000 bytes or more not sent/)
    else await sent
    const expected = mode === 'postgres' ? [{ n: 1 }, { n: 3 }] : [{ n: 1 }, long, { n: 3 }]
    assert.deepEqual(await heard.first(expected.length), expected)
    await heard.unsubscribe()
  })

  it('keeps delivering after its listening connection is killed (server restart, failover)', async () => {
    const { bus } = harness.deps.backend
    const received: unknown[] = []
    const unsubscribe = await bus.subscribe('recovery', (message) => received.push(message))
    if (mode === 'postgres') {
      await sql`select pg_terminate_backend(pid) from pg_stat_activity
                where application_name = 'pam-bus' and datname = current_database()`.execute(harness.deps.db)
    } else {
      // Only this test's subscriber: other test files share the Redis server.
      const redis = new Redis(testRedisUrl())
      const clients = String(await redis.call('CLIENT', 'LIST')).split('\n')
      const ours = clients.find((line) => line.includes(` name=${harness.config.REDIS_PREFIX}-subscriber `))
      const id = /\bid=(\d+)/.exec(ours ?? '')?.[1]
      assert.ok(id, 'the subscriber connection is listed')
      await redis.call('CLIENT', 'KILL', 'ID', id)
      redis.disconnect()
    }
    // Publish until one arrives: messages sent while the listener reconnects are lost (at-most-once).
    await eventually(
      async () => {
        await bus.publish('recovery', jsonText({ n: 1 }))
        return received.length > 0 ? true : undefined
      },
      15_000,
      'a message after the reconnect',
    )
    await unsubscribe()
  })
})
