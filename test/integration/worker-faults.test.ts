import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Job } from 'bullmq'
import parsePrometheus from 'parse-prometheus-text-format'
import { type Consumer, startConsumer } from '../../src/jobs/consumer.js'
import type { RunnableTask } from '../../src/jobs/handlers.js'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import { syncSchedules } from '../../src/jobs/schedules.js'
import { BACKOFF_TYPE } from '../../src/jobs/task-declarations.js'
import type { QueueName } from '../../src/platform/backend/queue-names.js'
import { messageOf } from '../../src/platform/errors/error-message.js'
import {
  eventually,
  type Harness,
  inBothModes,
  startHarness,
  TEST_INTERNAL_TOKEN,
  testEnv,
} from '../helpers/harness.js'
import { freePort, spawnPam } from '../helpers/process.js'

const task = (overrides: Partial<RunnableTask>): RunnableTask => ({
  queue: 'analytics',
  priority: 5,
  attempts: 1,
  backoffMs: 100,
  backoffCapMs: 10_000,
  timeoutMs: 10_000,
  exclusive: false,
  run: async () => ({ ok: true }),
  ...overrides,
})

async function settled(job: Job | undefined, timeoutMs = 20_000): Promise<string> {
  assert.ok(job)
  return eventually(
    async () => {
      const state = await job.getState()
      return state === 'completed' || state === 'failed' ? state : undefined
    },
    timeoutMs,
    `job ${job.id} to finish`,
  )
}

inBothModes('workers under failure', (mode) => {
  let harness: Harness
  let producer: Producer
  const consumers: Consumer[] = []

  const consume = (queues: QueueName[], tasks: Record<string, RunnableTask>, concurrency = 1) => {
    const consumer = startConsumer({
      backend: harness.deps.backend,
      db: harness.deps.db,
      logger: harness.deps.logger,
      metrics: harness.deps.metrics,
      workerId: `test-${consumers.length}`,
      queues,
      concurrency,
      // As short as the worker processes below use: BullMQ runs one stall check per queue per
      // interval across all workers, so a longer interval here would delay theirs.
      lockDurationMs: 2_000,
      tasks,
    })
    consumers.push(consumer)
    return consumer
  }

  /** A worker process on this harness's stores, with the short lock every worker here uses. */
  const workerEnv = () =>
    testEnv(mode, harness.databaseUrl, {
      REDIS_PREFIX: harness.config.REDIS_PREFIX,
      MIGRATE_ON_START: 'false',
      WORKER_LOCK_DURATION_MS: '2000',
    })

  before(async () => {
    harness = await startHarness(mode)
    producer = createProducer(harness.deps.backend, harness.deps.logger)
  })
  after(async () => {
    for (const consumer of consumers) await consumer.close(5_000)
    await producer.close()
    await harness.close()
  })

  it('retries a failing task with growing delays until it succeeds (3 attempts)', async () => {
    const calls: number[] = []
    const consumer = consume(['analytics'], {
      'test.flaky': task({
        attempts: 5,
        backoffMs: 300,
        run: async () => {
          calls.push(Date.now())
          if (calls.length < 3) throw new Error(`failure ${calls.length}`)
          return { ok: true }
        },
      }),
    })
    const job = await producer.queues
      .get('analytics')
      ?.add('test.flaky', {}, { attempts: 5, priority: 5, backoff: { type: BACKOFF_TYPE } })
    const outcome = await settled(job)
    // Closed before asserting: a worker left running would take the next test's jobs.
    await consumer.close(5_000)
    assert.equal(outcome, 'completed')
    assert.equal(calls.length, 3)
    const [first = 0, second = 0, third = 0] = calls
    // 300 ms × 2^(attempt − 1), less up to half: the first retry waits 150–300 ms, the second
    // 300–600 ms. Load only lengthens a wait, so the floors are what can be asserted.
    assert.ok(second - first >= 150, `first retry after ${second - first} ms`)
    assert.ok(third - second >= 300, `second retry after ${third - second} ms (first after ${second - first} ms)`)
  })

  it('fails a task that runs past its time limit, aborting the signal its handler holds', async () => {
    let sawAbort = false
    const consumer = consume(['analytics'], {
      'test.slow': task({
        timeoutMs: 300,
        attempts: 1,
        run: async (_data, context) => {
          context.signal.addEventListener('abort', () => {
            sawAbort = true
          })
          await sleep(3_000)
          return { ok: true }
        },
      }),
    })
    const job = await producer.queues.get('analytics')?.add('test.slow', {}, { priority: 5 })
    const outcome = await settled(job)
    await consumer.close(5_000)
    assert.equal(outcome, 'failed')
    const failed = await producer.queues.get('analytics')?.getJob(job?.id ?? '')
    assert.match(failed?.failedReason ?? '', /exceeded its time limit of 300 ms/)
    assert.ok(failed?.finishedOn && failed.processedOn && failed.finishedOn - failed.processedOn < 2_000)
    assert.equal(sawAbort, true)
  })

  it('runs an exclusive task once at a time: an overlapping run is skipped, not queued', async () => {
    let running = 0
    let most = 0
    const consumer = consume(
      ['maintenance'],
      {
        'test.sweep': task({
          queue: 'maintenance',
          exclusive: true,
          run: async () => {
            running += 1
            most = Math.max(most, running)
            await sleep(600)
            running -= 1
            return { swept: true }
          },
        }),
      },
      2,
    )
    const queue = producer.queues.get('maintenance')
    const jobs = await Promise.all([1, 2].map(() => queue?.add('test.sweep', {}, { priority: 5 })))
    for (const job of jobs) assert.equal(await settled(job), 'completed')
    const results = await Promise.all(jobs.map(async (job) => (await queue?.getJob(job?.id ?? ''))?.returnvalue))
    assert.equal(most, 1)
    assert.deepEqual(results.map((r) => ('skipped' in (r as object) ? 'skipped' : 'ran')).sort(), ['ran', 'skipped'])
    await consumer.close(5_000)
  })

  it('makes one job per tick when two schedulers keep the same schedule', async () => {
    const other = createProducer(harness.deps.backend, harness.deps.logger)
    const tick = [{ id: 'pam-test-tick', task: 'ops.ping' as const, pattern: '* * * * * *' }]
    const consumer = consume(['notifications'], { 'ops.ping': task({ queue: 'notifications' }) }, 4)
    try {
      await Promise.all([
        syncSchedules(producer, harness.deps.logger, tick),
        syncSchedules(other, harness.deps.logger, tick),
      ])
      await sleep(3_500)
      await syncSchedules(producer, harness.deps.logger, [])
      const queue = producer.queues.get('notifications')
      const jobs = [
        ...((await queue?.getCompleted(0, 100)) ?? []),
        ...((await queue?.getActive()) ?? []),
        ...((await queue?.getWaiting()) ?? []),
      ]
      const ids = jobs.filter((job) => job.repeatJobKey === 'pam-test-tick').map((job) => String(job.id))
      assert.ok(ids.length >= 2 && ids.length <= 5, `${ids.length} jobs in 3.5 s`)
      // A scheduler job's id carries its tick: two jobs for one tick would share it.
      const ticks = ids.map((id) => id.split(':').pop())
      assert.equal(new Set(ticks).size, ids.length, `one job per tick: ${ids.join(', ')}`)
    } finally {
      await consumer.close(5_000)
      await other.close()
    }
  })

  it('runs a schedule once after downtime, not once per missed tick', async () => {
    const tick = [{ id: 'pam-test-catch-up', task: 'ops.ping' as const, pattern: '* * * * * *' }]
    const queue = producer.queues.get('notifications')
    assert.ok(queue)
    const ofSchedule = (jobs: Job[]) => jobs.filter((job) => job.repeatJobKey === 'pam-test-catch-up')
    await syncSchedules(producer, harness.deps.logger, tick)
    try {
      // No worker for 3.5 s: about three ticks pass while nothing runs.
      await sleep(3_500)
      const waiting = ofSchedule(await queue.getJobs(['waiting', 'prioritized', 'delayed']))
      assert.equal(waiting.length, 1, 'one pending run, not a backlog')

      const consumer = consume(['notifications'], { 'ops.ping': task({ queue: 'notifications' }) }, 4)
      await eventually(
        async () => (ofSchedule(await queue.getCompleted(0, 100)).length > 0 ? true : undefined),
        10_000,
        'the catch-up run',
      )
      await sleep(300)
      const ran = ofSchedule(await queue.getCompleted(0, 100))
      assert.ok(ran.length <= 2, `${ran.length} runs within 0.3 s of the catch-up`)
      await consumer.close(5_000)
    } finally {
      await syncSchedules(producer, harness.deps.logger, [])
    }
  })

  it('finishes the active job on SIGTERM, then exits 0', async () => {
    const env = workerEnv()
    const worker = spawnPam(['worker', '--queues', 'notifications'], env)
    const job = await producer.queues.get('notifications')?.add('ops.ping', { delayMs: 1_500 }, { priority: 1 })
    await eventually(async () => ((await job?.getState()) === 'active' ? true : undefined), 20_000, 'the job to start')
    assert.equal(await worker.stop('SIGTERM'), 0, worker.output())
    assert.equal(await job?.getState(), 'completed')
  })

  it("serves a worker process's own job counters on METRICS_PORT, behind the internal token", async () => {
    const port = await freePort()
    const worker = spawnPam(['worker', '--queues', 'notifications'], { ...workerEnv(), METRICS_PORT: String(port) })
    try {
      const job = await producer.queues.get('notifications')?.add('ops.ping', {}, { priority: 1 })
      assert.equal(await settled(job), 'completed')
      const url = `http://127.0.0.1:${port}/metrics`
      const counted = await eventually(
        async () => {
          const response = await fetch(url, { headers: { authorization: `Bearer ${TEST_INTERNAL_TOKEN}` } })
          const family = parsePrometheus(await response.text()).find((f) => f.name === 'pam_jobs_total')
          const sample = family?.metrics.find(
            (m) => 'labels' in m && m.labels?.task === 'ops.ping' && m.labels?.outcome === 'completed',
          )
          return sample && 'value' in sample && Number(sample.value) >= 1 ? sample : undefined
        },
        20_000,
        "the worker's pam_jobs_total",
      )
      assert.equal('labels' in counted && counted.labels?.queue, 'notifications')
      assert.equal((await fetch(url)).status, 401)
      assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200)
    } finally {
      assert.equal(await worker.stop('SIGTERM'), 0, worker.output())
    }
  })

  it('re-runs the job of a worker killed with kill -9 once another worker starts', async () => {
    const env = workerEnv()
    const first = spawnPam(['worker', '--queues', 'notifications'], env)
    const job = await producer.queues.get('notifications')?.add('ops.ping', { delayMs: 3_000 }, { priority: 1 })
    await eventually(async () => ((await job?.getState()) === 'active' ? true : undefined), 20_000, 'the job to start')
    await first.stop('SIGKILL')
    const second = spawnPam(['worker', '--queues', 'notifications'], env)
    try {
      const state = await settled(job, 30_000).catch(async (error) => {
        throw new Error(`${messageOf(error)}; state ${await job?.getState()}; second worker: ${second.output()}`)
      })
      assert.equal(state, 'completed')
      const done = await producer.queues.get('notifications')?.getJob(job?.id ?? '')
      assert.equal((done?.returnvalue as { pong: boolean } | undefined)?.pong, true)
    } finally {
      await second.stop('SIGTERM')
    }
  })
})
