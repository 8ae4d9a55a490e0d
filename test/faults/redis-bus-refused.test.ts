import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { jsonText, type QueueBackend } from '../../src/platform/backend/backend.js'
import { createRedisBackend } from '../../src/platform/backend/redis.js'
import { createLogger } from '../../src/platform/logger.js'
import { eventually } from '../helpers/harness.js'
import { type PrivateRedis, privateRedis, privateRedisUnavailable } from '../helpers/private-services.js'
import { uniqueName } from '../helpers/services.js'

const noRedis = privateRedisUnavailable()

/**
 * Redis mode's bus after a reconnect that Redis does not let it subscribe again on: a shard still
 * changing hands, or (here, because it can be made to happen on purpose) an ACL that takes the
 * channels away for a while. The listeners must hear again once Redis allows it, without a
 * reconnect, and the process must survive the refusal.
 */
describe('the Redis bus when its resubscription is refused [redis mode]', noRedis ? { skip: noRedis } : {}, () => {
  let redis: PrivateRedis
  let admin: Redis
  let backend: QueueBackend
  const lines: string[] = []

  before(async () => {
    redis = await privateRedis()
    admin = new Redis(redis.url)
    // A user of the bus's own whose channels the test can take away and give back.
    await admin.call('ACL', 'SETUSER', 'bus', 'on', '>bus-password', '~*', '&*', '+@all')
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean))
        done()
      },
    })
    backend = createRedisBackend({
      url: redis.url.replace('redis://', 'redis://bus:bus-password@'),
      prefix: uniqueName('pamtest'),
      logger: createLogger({ level: 'warn', role: 'test', destination }),
    })
  })
  after(async () => {
    await backend?.close()
    admin?.disconnect()
    await redis?.stop()
  })

  it('hears again, and reports the gap, once Redis lets it subscribe; the refusals are retried, not fatal', async () => {
    const received: unknown[] = []
    let gaps = 0
    await backend.bus.subscribe('alerts', (message) => received.push(message), {
      onGap: () => {
        gaps += 1
      },
    })
    await backend.bus.publish('alerts', jsonText({ n: 1 }))
    await eventually(async () => (received.length === 1 ? true : undefined), 10_000, 'the first message')

    // Redis 7 disconnects a subscriber whose channels its user no longer has: it reconnects at
    // once, and each subscription it asks for is refused (NOPERM).
    await admin.call('ACL', 'SETUSER', 'bus', 'resetchannels')
    // A publish Redis refuses fails (its page's messages go in one pipeline: the refusal is in its results).
    await assert.rejects(backend.bus.publish('alerts', jsonText({ n: 0 }), jsonText({ n: 0 })), /NOPERM/)
    await eventually(
      async () => (lines.filter((line) => /not subscribed again/.test(line)).length >= 2 ? true : undefined),
      20_000,
      'the refusal, retried',
    )
    const gapsBefore = gaps
    await admin.call('ACL', 'SETUSER', 'bus', 'allchannels')
    await eventually(
      async () => (gaps > gapsBefore ? true : undefined),
      20_000,
      'the gap reported once subscribed again',
    )
    await backend.bus.publish('alerts', jsonText({ n: 2 }))
    await eventually(async () => (received.length === 2 ? true : undefined), 10_000, 'the message after')
    assert.deepEqual(received, [{ n: 1 }, { n: 2 }])
    assert.match(lines.find((line) => /not subscribed again/.test(line)) ?? '', /NOPERM/)
  })
})
