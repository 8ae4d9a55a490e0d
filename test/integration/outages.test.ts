import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import type { QueueBackend } from '../../src/platform/backend/backend.js'
import { createRedisBackend } from '../../src/platform/backend/redis.js'
import { createLogger } from '../../src/platform/logger.js'
import { eventually, type Harness, startHarness, testEnv } from '../helpers/harness.js'
import { type PrivateRedis, privateRedis, privateRedisUnavailable } from '../helpers/private-services.js'
import { type PamProcess, spawnPam } from '../helpers/process.js'
import { uniqueName } from '../helpers/services.js'

/** Enqueues a ping (retrying while the store is still coming back) and waits for its result. */
async function pingThrough(producer: Producer, timeoutMs = 30_000) {
  const { id } = await eventually(
    () => producer.enqueue('ops.ping', {}).catch(() => undefined),
    timeoutMs,
    'the queue to accept a job',
  )
  return eventually(
    async () => {
      const job = await producer.queues
        .get('notifications')
        ?.getJob(id)
        .catch(() => undefined)
      return job?.finishedOn ? job.returnvalue : undefined
    },
    timeoutMs,
    `job ${id} to be processed`,
  )
}

describe('worker recovery after a PostgreSQL outage [postgres-only mode]', () => {
  let harness: Harness
  let producer: Producer
  let worker: PamProcess

  before(async () => {
    harness = await startHarness('postgres')
    producer = createProducer(harness.deps.backend, harness.deps.logger)
    worker = spawnPam(['worker'], testEnv('postgres', harness.databaseUrl, { MIGRATE_ON_START: 'false' }))
  })
  after(async () => {
    await worker.stop('SIGTERM')
    await producer.close()
    await harness.close()
  })

  it('keeps processing jobs after every connection to the database was dropped', async () => {
    assert.equal(((await pingThrough(producer)) as { pong: boolean }).pong, true)
    // What a server restart or failover does to clients: every session of this database ends.
    await sql`select pg_terminate_backend(pid) from pg_stat_activity
              where datname = current_database() and pid <> pg_backend_pid()`.execute(harness.deps.db)
    assert.equal(((await pingThrough(producer)) as { pong: boolean }).pong, true)
    assert.equal(worker.child.exitCode, null, 'the worker must not have exited')
  })
})

const noRedis = privateRedisUnavailable()

describe('worker recovery after a Redis restart [redis mode]', noRedis ? { skip: noRedis } : {}, () => {
  let harness: Harness
  let producer: Producer
  let worker: PamProcess
  let backend: QueueBackend
  let redis: PrivateRedis
  const prefix = uniqueName('pamtest')

  before(async () => {
    redis = await privateRedis()
    harness = await startHarness('postgres')
    const logger = createLogger({ level: 'silent', role: 'test' })
    backend = createRedisBackend({ url: redis.url, prefix, logger })
    producer = createProducer(backend, logger)
    worker = spawnPam(
      ['worker'],
      testEnv('redis', harness.databaseUrl, { REDIS_URL: redis.url, REDIS_PREFIX: prefix, MIGRATE_ON_START: 'false' }),
    )
  })
  after(async () => {
    await worker.stop('SIGTERM')
    await producer.close()
    await backend.close()
    await redis.stop()
    await harness.close()
  })

  it('keeps processing jobs after Redis restarts, without restarting the worker', async () => {
    assert.equal(((await pingThrough(producer)) as { pong: boolean }).pong, true)
    await redis.kill()
    await redis.start()
    assert.equal(((await pingThrough(producer)) as { pong: boolean }).pong, true)
    assert.equal(worker.child.exitCode, null, 'the worker must not have exited')
  })
})
