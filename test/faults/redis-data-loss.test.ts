import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import { missingSchedules, schedules } from '../../src/jobs/schedules.js'
import { checkReadiness } from '../../src/operations/health/readiness.js'
import type { PamQueue, QueueBackend } from '../../src/platform/backend/backend.js'
import { createRedisBackend } from '../../src/platform/backend/redis.js'
import { loadConfig } from '../../src/platform/config.js'
import { createLogger } from '../../src/platform/logger.js'
import { eventually, type Harness, startHarness, testEnv } from '../helpers/harness.js'
import { type PrivateRedis, privateRedis, privateRedisUnavailable } from '../helpers/private-services.js'
import { type PamProcess, spawnPam } from '../helpers/process.js'
import { uniqueName } from '../helpers/services.js'

// Within a few heartbeats (10 s each), not the five minutes of the old periodic re-sync.
const NOTICED_WITHIN_MS = 30_000

const noRedis = privateRedisUnavailable()
describe("Redis loses data (FLUSHALL; a failover's last writes) [redis mode]", noRedis ? { skip: noRedis } : {}, () => {
  let harness: Harness
  let redis: PrivateRedis
  let backend: QueueBackend
  let producer: Producer
  // Every scheduler a case starts, killed at the end whatever became of the case.
  const spawned: PamProcess[] = []
  const startScheduler = (env: Record<string, string>): PamProcess => {
    const started = spawnPam(['scheduler'], env)
    spawned.push(started)
    return started
  }
  const prefix = uniqueName('pamfault')
  /** A scheduler's environment on this file's Redis, and whether every schedule it wants is there. */
  const schedulerSetup = () => {
    const env = testEnv('redis', harness.databaseUrl, {
      REDIS_URL: redis.url,
      REDIS_PREFIX: prefix,
      MIGRATE_ON_START: 'false',
      LOG_LEVEL: 'info',
    })
    const wanted = schedules(loadConfig(env))
    const allPresent = async () => ((await missingSchedules(producer, wanted)).length === 0 ? true : undefined)
    return { env, wanted, allPresent }
  }

  before(async () => {
    redis = await privateRedis()
    harness = await startHarness('postgres')
    backend = createRedisBackend({ url: redis.url, prefix, logger: createLogger({ level: 'silent', role: 'test' }) })
    producer = createProducer(backend, harness.deps.logger)
  })
  after(async () => {
    await Promise.all(spawned.map((each) => each.stop('SIGKILL')))
    await producer?.close()
    await backend?.close()
    await harness?.close()
    await redis?.stop()
  })

  it('the scheduler notices the lost schedules at once, re-creates them and says so; readiness says so meanwhile', async () => {
    const { env, wanted, allPresent } = schedulerSetup()
    const scheduler = startScheduler(env)
    await eventually(allPresent, 60_000, 'the schedules')

    assert.equal((await checkReadiness({ db: harness.deps.db, backend })).components.redis, true)
    await backend.redis?.flushall()
    const flushed = Date.now()
    assert.ok((await missingSchedules(producer, wanted)).length > 0)
    assert.equal(
      (await checkReadiness({ db: harness.deps.db, backend })).components.redis,
      false,
      'not ready: data lost',
    )
    await eventually(allPresent, NOTICED_WITHIN_MS, 'the schedules to be re-created')
    await eventually(
      async () => ((await checkReadiness({ db: harness.deps.db, backend })).components.redis ? true : undefined),
      NOTICED_WITHIN_MS,
      'readiness to report Redis whole again',
    )
    process.stdout.write(`# schedules back ${Date.now() - flushed} ms after FLUSHALL\n`)
    assert.match(scheduler.output(), /schedules are missing/)
    assert.equal(await scheduler.stop('SIGTERM'), 0, scheduler.output())
  })

  it("runs a schedule again whose next run alone was lost (a failover's last, unreplicated write)", async () => {
    const { env, allPresent } = schedulerSetup()
    // What the schedules are from here on is this scheduler's doing, not the case before's.
    await backend.redis?.flushall()
    const scheduler = startScheduler(env)
    const queue = producer.queues.get('notifications') as PamQueue
    const id = 'pam-evaluation-drain'
    await eventually(allPresent, 60_000, 'the schedules')
    const listed = await queue.getJobScheduler(id)
    assert.ok(listed)
    // BullMQ adds a schedule's next run when a worker starts the current one, in a command of its
    // own: a failover that loses that command leaves the schedule listed, with no run to come.
    const lost = `repeat:${id}:${listed.next}`
    await backend.redis?.del(`${prefix}:notifications:${lost}`)
    await backend.redis?.zrem(`${prefix}:notifications:delayed`, lost)
    assert.equal(await queue.getJob(lost), undefined)
    const again = await eventually(
      async () => {
        const next = (await queue.getJobScheduler(id))?.next
        const run = next && next !== listed.next ? await queue.getJob(`repeat:${id}:${next}`) : undefined
        return run && (await run.getState()) === 'delayed' ? run : undefined
      },
      NOTICED_WITHIN_MS,
      "the drainer's next run",
    )
    assert.equal(again.name, 'evaluations.drain')
    const warned = scheduler
      .output()
      .split('\n')
      .filter((line) => /schedules are missing or stalled/.test(line))
    assert.deepEqual(
      warned.map((line) => JSON.parse(line).missing),
      [[id]],
      'the lost run named, and only it upserted again',
    )
    assert.equal(await scheduler.stop('SIGTERM'), 0, scheduler.output())
  })
})
