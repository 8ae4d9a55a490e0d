import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import { eventually, type Harness, inBothModes, type Mode, startHarness, testEnv } from '../helpers/harness.js'
import { spawnPam } from '../helpers/process.js'

inBothModes('a worker whose job outlasts the shutdown grace', (mode: Mode) => {
  let harness: Harness
  let producer: Producer

  before(async () => {
    harness = await startHarness(mode)
  })
  after(async () => {
    await producer?.close()
    await harness.close()
  })

  it('forces the job off after SHUTDOWN_TIMEOUT_MS, exits 0 in order, and another worker re-runs the job', async () => {
    producer = createProducer(harness.deps.backend, harness.deps.logger)
    const env = testEnv(mode, harness.databaseUrl, {
      REDIS_PREFIX: harness.config.REDIS_PREFIX,
      MIGRATE_ON_START: 'false',
      SHUTDOWN_TIMEOUT_MS: '1000',
      // The forced job is re-run after its lock lapses: short here, so the test need not wait 30 s.
      WORKER_LOCK_DURATION_MS: '2000',
      LOG_LEVEL: 'info',
    })
    const first = spawnPam(['worker', '--queues', 'notifications'], env)
    let second: ReturnType<typeof spawnPam> | undefined
    try {
      // Longer than the grace and the close margin together: only a forced close ends in time.
      const job = await producer.queues.get('notifications')?.add('ops.ping', { delayMs: 8_000 }, { priority: 1 })
      await eventually(
        async () => ((await job?.getState()) === 'active' ? true : undefined),
        30_000,
        'the job to start',
      )
      const stopping = Date.now()
      assert.equal(await first.stop('SIGTERM'), 0, first.output())
      assert.ok(Date.now() - stopping < 6_000, `stopped after ${Date.now() - stopping} ms`)
      assert.match(first.output(), /forcing the workers closed/)
      assert.match(first.output(), /PAM stopped/)
      const rows = await harness.deps.db
        .selectFrom('worker_heartbeats')
        .select('id')
        .where('pid', '=', first.child.pid ?? -1)
        .execute()
      assert.deepEqual(rows, [], 'the heartbeat row is removed')

      second = spawnPam(['worker', '--queues', 'notifications'], env)
      await eventually(
        async () => ((await job?.getState()) === 'completed' ? true : undefined),
        60_000,
        'the forced job to be re-run to completion',
      )
    } finally {
      await first.stop('SIGKILL')
      await second?.stop('SIGTERM')
    }
  })
})
