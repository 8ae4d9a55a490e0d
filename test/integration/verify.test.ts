import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildApiApp } from '../../src/app/roles/api.js'
import type { RunningRole } from '../../src/app/roles/role.js'
import { startWorker } from '../../src/app/roles/worker.js'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import { schedules, syncSchedules } from '../../src/jobs/schedules.js'
import { QUEUE_NAMES } from '../../src/platform/backend/queue-names.js'
import { listenLocally, userToken } from '../helpers/api.js'
import { type Harness, inBothModes, startHarness, TEST_INTERNAL_TOKEN } from '../helpers/harness.js'
import { spawnPam } from '../helpers/process.js'

inBothModes('pam verify against a running PAM', (mode) => {
  let harness: Harness
  let producer: Producer
  let app: FastifyInstance
  let worker: RunningRole | undefined
  let base: string
  const controller = new AbortController()

  before(async () => {
    harness = await startHarness(mode)
    producer = createProducer(harness.deps.backend, harness.deps.logger)
    app = await buildApiApp(harness.deps, producer)
    base = `http://${await listenLocally(app)}`
    worker = await startWorker(harness.deps, controller.signal, { queues: QUEUE_NAMES, concurrency: 1 })
    await syncSchedules(producer, harness.deps.logger, schedules(harness.config))
  })
  after(async () => {
    controller.abort()
    await worker?.stop()
    await app.close()
    await producer.close()
    await harness.close()
  })

  const verify = async () =>
    spawnPam(
      [
        'verify',
        base,
        '--token',
        await userToken(),
        '--internal-token',
        TEST_INTERNAL_TOKEN,
        '--origin',
        'http://localhost:5173',
      ],
      {},
    )

  it('passes every check, a line each', async () => {
    const run = await verify()
    assert.equal(await run.exited, 0, run.output())
    for (const name of [
      'health',
      'ready',
      'response time',
      'docs',
      'cors',
      'auth and rate limits',
      'workers',
      'schedules',
    ]) {
      assert.match(run.output(), new RegExp(`^ok\\s+${name}\\s`, 'm'), `${name} in:\n${run.output()}`)
    }
    assert.match(run.output(), /all 9 checks passed/)
  })

  it('fails, naming the checks, when the worker is stopped', async () => {
    await worker?.stop()
    worker = undefined
    const run = await verify()
    assert.equal(await run.exited, 1, run.output())
    assert.match(
      run.output(),
      /^FAIL\s+ready\s+503: .*workers DOWN; no worker for notifications, analytics, maintenance/m,
    )
    assert.match(run.output(), /^FAIL\s+workers\s/m)
    assert.match(run.output(), /2 of 9 checks failed: ready, workers/)
  })

  it('refuses a URL that is not one', async () => {
    const run = spawnPam(['verify', 'not-a-url'], {})
    assert.equal(await run.exited, 2)
  })
})
