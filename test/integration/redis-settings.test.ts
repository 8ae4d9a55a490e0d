import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import { createRedisBackend } from '../../src/platform/backend/redis.js'
import { testRedis, uniqueName } from '../helpers/services.js'

const redis = testRedis()

describe('Redis settings check', 'skip' in redis ? { skip: redis.skip } : {}, () => {
  const url = 'url' in redis ? redis.url : ''
  let admin: Redis
  let original: string

  before(async () => {
    admin = new Redis(url)
    original = ((await admin.config('GET', 'maxmemory-policy')) as string[])[1] ?? 'noeviction'
  })
  after(async () => {
    await admin.config('SET', 'maxmemory-policy', original)
    admin.disconnect()
  })

  async function warningsWith(policy: string): Promise<string[]> {
    await admin.config('SET', 'maxmemory-policy', policy)
    const lines: string[] = []
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)).msg)
        done()
      },
    })
    const backend = createRedisBackend({ url, prefix: uniqueName('pamtest'), logger: pino({ level: 'warn' }, sink) })
    try {
      await backend.checkSettings()
    } finally {
      await backend.close()
    }
    return lines.filter((line) => /maxmemory-policy/.test(line))
  }

  it('warns when Redis may evict queued jobs, and is quiet with noeviction', async () => {
    const [warning] = await warningsWith('allkeys-lru')
    assert.match(warning ?? '', /maxmemory-policy is not noeviction/)
    assert.deepEqual(await warningsWith('noeviction'), [])
  })
})
