import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import parsePrometheus from 'parse-prometheus-text-format'
import { startConsumer } from '../../src/jobs/consumer.js'
import type { RunnableTask } from '../../src/jobs/handlers.js'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import { BACKOFF_TYPE } from '../../src/jobs/task-declarations.js'
import { loadConfig } from '../../src/platform/config.js'
import type { ErrorReporter } from '../../src/platform/errors/error-reporter.js'
import { createErrorReporter } from '../../src/platform/errors/error-tracking.js'
import { createLogger } from '../../src/platform/logger.js'
import { type FakeSentry, startFakeSentry } from '../helpers/fake-sentry.js'
import { eventually, type Harness, inBothModes, startHarness, TEST_INTERNAL_TOKEN } from '../helpers/harness.js'

const PROVIDER_KEY = 'sk-ant-api03-secretsecretsecret'

// One Sentry client for the file (the SDK is process-wide), as one process has one.
let sentry: FakeSentry
let errors: ErrorReporter
before(async () => {
  sentry = await startFakeSentry()
  errors = await createErrorReporter(
    loadConfig({ SENTRY_DSN: sentry.dsn, INTERNAL_TOKEN: TEST_INTERNAL_TOKEN }),
    'worker',
    createLogger({ level: 'silent', role: 'test' }),
  )
})
after(async () => {
  await errors.close(2_000)
  await sentry.close()
})

inBothModes('error tracking: a job that fails for good', (mode) => {
  let harness: Harness
  let producer: Producer
  before(async () => {
    harness = await startHarness(mode)
    producer = createProducer(harness.deps.backend, harness.deps.logger)
  })
  after(async () => {
    await producer.close()
    await harness.close()
  })

  it('is reported once after its third attempt, tagged and grouped by task and error type, with no secret', async () => {
    let calls = 0
    const task = `test.always-fails-${mode}`
    const failing: RunnableTask = {
      queue: 'analytics',
      priority: 5,
      attempts: 3,
      backoffMs: 10,
      backoffCapMs: 10,
      timeoutMs: 5_000,
      exclusive: false,
      run: async () => {
        calls += 1
        throw new TypeError(`the provider refused key ${PROVIDER_KEY} on call ${calls}`)
      },
    }
    const consumer = startConsumer({
      backend: harness.deps.backend,
      db: harness.deps.db,
      logger: harness.deps.logger,
      metrics: harness.deps.metrics,
      errors,
      workerId: 'test-failing',
      queues: ['analytics'],
      concurrency: 1,
      lockDurationMs: 30_000,
      tasks: { [task]: failing },
    })
    try {
      const job = await producer.queues
        .get('analytics')
        ?.add(task, {}, { attempts: 3, priority: 5, backoff: { type: BACKOFF_TYPE } })
      assert.ok(job?.id)
      await eventually(async () => ((await job.getState()) === 'failed' ? true : undefined), 30_000, 'the job to fail')
      assert.equal(calls, 3)
      const ours = () => sentry.events.filter((event) => event.tags?.task === task)
      await eventually(async () => (ours().length > 0 ? true : undefined), 15_000, 'the report')
      // A report per attempt would have been captured, and sent, before the last one.
      assert.equal(ours().length, 1, 'one report, not one per attempt')
      const [event] = ours()
      assert.deepEqual(
        { role: event?.tags?.role, queue: event?.tags?.queue, task: event?.tags?.task, jobId: event?.tags?.job_id },
        { role: 'worker', queue: 'analytics', task, jobId: job.id },
      )
      assert.deepEqual(event?.fingerprint, ['job-failed', task, 'TypeError'])
      assert.ok(!sentry.raw.join('\n').includes(PROVIDER_KEY), 'the provider key was sent')

      const metrics = await harness.deps.metrics.registry.metrics()
      const failedFinal = parsePrometheus(metrics).find((family) => family.name === 'pam_jobs_failed_final_total')
      const sample = (failedFinal?.metrics ?? []).find(
        (m) => (m as { labels?: Record<string, string> }).labels?.task === task,
      )
      assert.equal((sample as { value?: string } | undefined)?.value, '1')
    } finally {
      await consumer.close(5_000)
    }
  })
})
