import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import { after, before, it } from 'node:test'
import { type Consumer, startConsumer } from '../../src/jobs/consumer.js'
import type { RunnableTask } from '../../src/jobs/handlers.js'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import { BACKOFF_TYPE } from '../../src/jobs/task-declarations.js'
import { createLogger } from '../../src/platform/logger.js'
import { eventually, type Harness, inBothModes, startHarness } from '../helpers/harness.js'

inBothModes('job logging', (mode) => {
  let harness: Harness
  let producer: Producer
  let consumer: Consumer
  const lines: Array<Record<string, unknown>> = []

  const said: RunnableTask = {
    queue: 'analytics',
    priority: 5,
    attempts: 1,
    backoffMs: 10,
    backoffCapMs: 10,
    timeoutMs: 10_000,
    exclusive: false,
    // A task of the test's own, so its data is read as the test queued it.
    run: async (data, context) => {
      context.logger.info({ note: (data as { note: string }).note }, 'test task ran')
      return { ok: true }
    },
  }

  before(async () => {
    harness = await startHarness(mode)
    producer = createProducer(harness.deps.backend, harness.deps.logger)
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line))
        done()
      },
    })
    consumer = startConsumer({
      backend: harness.deps.backend,
      db: harness.deps.db,
      logger: createLogger({ level: 'info', role: 'worker', destination: sink }),
      metrics: harness.deps.metrics,
      workerId: 'test-job-log',
      queues: ['analytics'],
      concurrency: 1,
      lockDurationMs: 30_000,
      tasks: { 'test.said': said },
    })
  })
  after(async () => {
    await consumer?.close(5_000)
    await producer?.close()
    await harness?.close()
  })

  const run = async (data: Record<string, unknown>) => {
    const job = await producer.queues
      .get('analytics')
      ?.add('test.said', data, { attempts: 1, priority: 5, backoff: { type: BACKOFF_TYPE } })
    assert.ok(job?.id)
    return eventually(
      async () => lines.find((line) => line.note === data.note && line.jobId === job.id),
      30_000,
      'the task to log',
    )
  }

  it("names the user on a job's log lines when the job is about one user", async () => {
    const userId = randomUUID()
    const line = await run({ userId, note: 'about a user' })
    assert.equal(line.userId, userId)
    assert.equal(line.task, 'test.said')
  })

  it('leaves the user out of jobs about no user, or with a userId that is not one', async () => {
    assert.equal((await run({ note: 'about nobody' })).userId, undefined)
    assert.equal((await run({ userId: 'x'.repeat(5_000), note: 'a bogus id' })).userId, undefined)
  })
})
