import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import type { TaskName } from '../../src/jobs/task-declarations.js'
import type { QueueName } from '../../src/platform/backend/queue-names.js'
import { type ApiHarness, startApiHarness } from '../helpers/api.js'
import { inBothModes, TEST_INTERNAL_TOKEN } from '../helpers/harness.js'

/**
 * 1,000 jobs and no worker, per queue: some to run now (every PAM job carries a priority, so BullMQ
 * keeps them in its prioritized set), some delayed and already due (a retry's backoff, a schedule's
 * run: with no worker running nothing promotes them), some delayed until later.
 */
const PLAN: Record<QueueName, { task: TaskName; now: number; due: number; later: number }> = {
  notifications: { task: 'notify.deliver', now: 300, due: 120, later: 80 },
  analytics: { task: 'ai.briefing', now: 180, due: 70, later: 50 },
  maintenance: { task: 'housekeeping.cleanup', now: 120, due: 50, later: 30 },
}
const HOUR = 3_600_000

inBothModes('the queue backlog workers are scaled on', (mode) => {
  let api: ApiHarness
  let producer: Producer

  before(async () => {
    api = await startApiHarness(mode)
    producer = createProducer(api.harness.deps.backend, api.harness.deps.logger)
  })
  after(async () => {
    await producer.close()
    await api.close()
  })

  const backlog = () =>
    api.app.inject({ url: '/internal/queue-backlog', headers: { authorization: `Bearer ${TEST_INTERNAL_TOKEN}` } })

  it('is zero on empty queues, and only for the internal token', async () => {
    const refused = await api.app.inject({ url: '/internal/queue-backlog' })
    assert.equal(refused.statusCode, 401)
    assert.match(String(refused.headers['www-authenticate']), /^Bearer/)
    const response = await backlog()
    assert.equal(response.statusCode, 200, response.body)
    for (const figures of Object.values(response.json().queues)) {
      assert.deepEqual(figures, { backlog: 0, waiting: 0, prioritized: 0, dueDelayed: 0 })
    }
  })

  it('counts prioritized and due delayed jobs, not those due later: 1,000 jobs, no worker', async () => {
    const adds: (() => Promise<unknown>)[] = []
    for (const { task, now, due, later } of Object.values(PLAN)) {
      for (let i = 0; i < now; i++) adds.push(() => producer.enqueue(task, { i }))
      for (let i = 0; i < due; i++) adds.push(() => producer.enqueue(task, { i }, { delay: 1 }))
      for (let i = 0; i < later; i++) adds.push(() => producer.enqueue(task, { i }, { delay: HOUR }))
    }
    assert.equal(adds.length, 1_000)
    for (let at = 0; at < adds.length; at += 100) await Promise.all(adds.slice(at, at + 100).map((add) => add()))
    // The 1 ms delays have passed; the hour has not.
    await sleep(20)

    const response = await backlog()
    assert.equal(response.statusCode, 200, response.body)
    const { queues, timestamp } = response.json()
    assert.ok(Math.abs(Date.parse(timestamp) - Date.now()) < 60_000)
    for (const [queue, { now, due, later }] of Object.entries(PLAN) as [QueueName, (typeof PLAN)[QueueName]][]) {
      assert.deepEqual(
        queues[queue],
        { backlog: now + due, waiting: 0, prioritized: now, dueDelayed: due },
        `${queue}: ${JSON.stringify(queues[queue])}`,
      )
      // The store holds every job: the ones due later are left out of the figure, not lost.
      const q = producer.queues.get(queue)
      assert.equal(await q?.getDelayedCount(), due + later)
    }
    if (mode === 'redis') {
      // What KEDA's Redis-list scaler would read (the length of BullMQ's wait list): nothing.
      const redis = api.harness.deps.backend.redis
      for (const queue of Object.keys(PLAN)) {
        assert.equal(await redis?.llen(`${api.harness.config.REDIS_PREFIX}:${queue}:wait`), 0)
      }
    }
  })
})
