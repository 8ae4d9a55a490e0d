import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import parsePrometheus from 'parse-prometheus-text-format'
import { buildApiApp } from '../../src/app/roles/api.js'
import type { RunningRole } from '../../src/app/roles/role.js'
import { startWorker } from '../../src/app/roles/worker.js'
import { startConsumer } from '../../src/jobs/consumer.js'
import type { RunnableTask } from '../../src/jobs/handlers.js'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import { schedules, syncSchedules } from '../../src/jobs/schedules.js'
import { BACKOFF_TYPE } from '../../src/jobs/task-declarations.js'
import { QUEUE_NAMES } from '../../src/platform/backend/queue-names.js'
import { eventually, type Harness, inBothModes, startHarness, TEST_INTERNAL_TOKEN } from '../helpers/harness.js'
import { spawnPam } from '../helpers/process.js'

const AUTH = { authorization: `Bearer ${TEST_INTERNAL_TOKEN}` }

inBothModes('operations: metrics, dashboard, inspect, call and retry', (mode) => {
  let harness: Harness
  let producer: Producer
  let app: FastifyInstance
  let worker: RunningRole
  const controller = new AbortController()

  before(async () => {
    harness = await startHarness(mode)
    producer = createProducer(harness.deps.backend, harness.deps.logger)
    app = await buildApiApp(harness.deps, producer)
    // analytics is left to the test that brings its own task
    worker = await startWorker(harness.deps, controller.signal, {
      queues: ['notifications', 'maintenance'],
      concurrency: 2,
    })
  })
  after(async () => {
    controller.abort()
    await app.close()
    await worker.stop()
    await producer.close()
    await harness.close()
  })

  /** The environment a `pam` ops command needs to reach this harness's stores. */
  const cliEnv = () => ({
    DATABASE_URL: harness.databaseUrl,
    ...(harness.config.REDIS_URL ? { REDIS_URL: harness.config.REDIS_URL } : {}),
    REDIS_PREFIX: harness.config.REDIS_PREFIX,
    JWT_SECRET: 'cli-test-secret-0123456789abcdef012345',
    INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
    PAM_HOME: harness.config.PAM_HOME,
  })

  it('pam call ops.ping --wait prints pong from a worker', async () => {
    const pam = spawnPam(['call', 'ops.ping', '--wait', '--timeout', '20'], cliEnv())
    assert.equal(await pam.exited, 0, pam.output())
    assert.match(pam.output(), /"pong":true/)
    assert.match(pam.output(), /queued ops\.ping as job \S+ on notifications/)
  })

  it("pam call --wait prints the result of a task whose jobs are not kept once done (a sweep's page)", async () => {
    const user = randomUUID()
    await harness.deps.db.insertInto('users').values({ id: user }).execute()
    const pam = spawnPam(
      ['call', 'monitor.fuel.page', '--args', JSON.stringify({ userIds: [user] }), '--wait', '--timeout', '20'],
      cliEnv(),
    )
    assert.equal(await pam.exited, 0, pam.output())
    assert.match(pam.output(), /"usersEvaluated":1/)
  })

  it('serves Prometheus text that a real parser reads, with the families operators alert on', async () => {
    await app.inject({ url: '/health' })
    await app.inject({ url: '/nowhere' })
    const refused = await app.inject({ url: '/metrics' })
    assert.equal(refused.statusCode, 401)

    const response = await app.inject({ url: '/metrics', headers: AUTH })
    assert.equal(response.statusCode, 200)
    assert.match(String(response.headers['content-type']), /^text\/plain; version=/)
    const families = new Map(parsePrometheus(response.body).map((family) => [family.name, family]))
    for (const name of [
      'pam_http_request_duration_seconds',
      'pam_queue_jobs',
      'pam_workers_alive',
      'pam_jobs_total',
      'pam_job_duration_seconds',
      'pam_process_cpu_user_seconds_total',
    ]) {
      assert.ok(families.has(name), `missing ${name} in ${[...families.keys()].join(', ')}`)
    }
    // The parser drops histogram labels, so route labels are read from the text itself.
    assert.match(
      response.body,
      /^pam_http_request_duration_seconds_count\{method="GET",route="\/health",status="200"\} \d+$/m,
    )
    assert.match(
      response.body,
      /^pam_http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} \d+$/m,
    )
    const alive = families.get('pam_workers_alive')?.metrics ?? []
    assert.deepEqual(
      alive.map((m) => [m.labels?.queue, m.value]),
      [
        ['notifications', '1'],
        ['analytics', '0'],
        ['maintenance', '1'],
      ],
    )
    const depth = families.get('pam_queue_jobs')?.metrics ?? []
    assert.equal(depth.length, QUEUE_NAMES.length * 7)
  })

  it('keeps the queue dashboard behind the internal token, with a browser sign-in', async () => {
    const api = await app.inject({ url: '/admin/queues/api/queues', headers: { accept: 'application/json' } })
    assert.equal(api.statusCode, 401)
    const page = await app.inject({ url: '/admin/queues', headers: { accept: 'text/html' } })
    assert.equal(page.statusCode, 303)
    assert.equal(page.headers.location, '/admin/login')

    const form = await app.inject({ url: '/admin/login' })
    assert.match(form.body, /<form method="post"/)
    const wrong = await app.inject({
      method: 'POST',
      url: '/admin/login',
      payload: 'token=guess',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    assert.equal(wrong.statusCode, 401)
    assert.equal(wrong.headers['set-cookie'], undefined)

    const signIn = await app.inject({
      method: 'POST',
      url: '/admin/login',
      payload: `token=${encodeURIComponent(TEST_INTERNAL_TOKEN)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    assert.equal(signIn.statusCode, 303)
    const cookie = String(signIn.headers['set-cookie'])
    assert.match(cookie, /HttpOnly/)
    assert.match(cookie, /SameSite=Strict/)
    assert.match(cookie, /Path=\/admin/)

    const withCookie = await app.inject({
      url: '/admin/queues/api/queues',
      headers: { cookie: cookie.split(';')[0] ?? '' },
    })
    assert.equal(withCookie.statusCode, 200, withCookie.body)
    const names = (withCookie.json().queues as { name: string }[]).map((q) => q.name).sort()
    assert.deepEqual(names, [...QUEUE_NAMES].sort())
    const withBearer = await app.inject({ url: '/admin/queues', headers: AUTH })
    assert.equal(withBearer.statusCode, 200)
  })

  it('lists a job that exhausted its retries in pam inspect failed, and pam retry runs it again', async () => {
    let calls = 0
    const flaky: RunnableTask = {
      queue: 'analytics',
      priority: 5,
      attempts: 1,
      backoffMs: 10,
      backoffCapMs: 10,
      timeoutMs: 5_000,
      exclusive: false,
      run: async () => {
        calls += 1
        if (calls === 1) throw new Error('the provider said no')
        return { ok: true }
      },
    }
    const consumer = startConsumer({
      backend: harness.deps.backend,
      db: harness.deps.db,
      logger: harness.deps.logger,
      metrics: harness.deps.metrics,
      workerId: 'test-flaky',
      queues: ['analytics'],
      concurrency: 1,
      lockDurationMs: 30_000,
      tasks: { 'test.flaky': flaky },
    })
    try {
      const queue = producer.queues.get('analytics')
      const job = await queue?.add('test.flaky', {}, { attempts: 1, priority: 5, backoff: { type: BACKOFF_TYPE } })
      assert.ok(job?.id)
      await eventually(async () => ((await job.getState()) === 'failed' ? true : undefined), 10_000, 'the job to fail')

      const inspect = spawnPam(['inspect', 'failed', '--queue', 'analytics', '--json'], cliEnv())
      assert.equal(await inspect.exited, 0, inspect.output())
      const failed = JSON.parse(inspect.output()) as {
        id: string
        task: string
        reason: string
        attemptsMade: number
      }[]
      const listed = failed.find((f) => f.id === job.id)
      assert.deepEqual(
        { task: listed?.task, reason: listed?.reason, attemptsMade: listed?.attemptsMade },
        { task: 'test.flaky', reason: 'the provider said no', attemptsMade: 1 },
      )

      const retry = spawnPam(['retry', job.id], cliEnv())
      assert.equal(await retry.exited, 0, retry.output())
      await eventually(
        async () => ((await job.getState()) === 'completed' ? true : undefined),
        10_000,
        'the retried job',
      )
      assert.equal(calls, 2)
    } finally {
      await consumer.close(5_000)
    }
  })

  it('pam inspect shows schedules, stats and workers', async () => {
    await syncSchedules(producer, harness.deps.logger, schedules(harness.config))
    const listing = spawnPam(['inspect', 'scheduled', '--json'], cliEnv())
    assert.equal(await listing.exited, 0, listing.output())
    const listed = JSON.parse(listing.output()) as { id: string; cadence: string; nextRunAt: string | null }[]
    const weather = listed.find((schedule) => schedule.id === 'pam-weather-monitoring')
    assert.equal(weather?.cadence, '*/30 * * * *')
    assert.ok(weather?.nextRunAt && Date.parse(weather.nextRunAt) > Date.now() - 60_000)
    assert.equal(listed.length, schedules(harness.config).length)
    await syncSchedules(producer, harness.deps.logger, [])

    const scheduled = spawnPam(['inspect', 'workers', '--json'], cliEnv())
    assert.equal(await scheduled.exited, 0, scheduled.output())
    const workers = JSON.parse(scheduled.output()) as { role: string; queues: string[] }[]
    assert.ok(workers.some((w) => w.role === 'worker' && w.queues.join() === 'notifications,maintenance'))

    const stats = spawnPam(['inspect', 'stats', '--queue', 'notifications', '--json'], cliEnv())
    assert.equal(await stats.exited, 0, stats.output())
    const [notifications] = JSON.parse(stats.output())
    assert.equal(notifications.queue, 'notifications')
    assert.ok(notifications.counts.completed >= 1, 'the ping above completed')
    assert.equal(typeof notifications.failureRate, 'number')
  })
})
