import { once } from 'node:events'
import { Queue, Worker } from 'bullmq'
import { Redis, type RedisOptions } from 'ioredis'
import { messageOf } from '../errors/error-message.js'
import type { Logger } from '../logger.js'
import type { QueueBackend } from './backend.js'
import { createRedisBus } from './redis-bus.js'

/**
 * BullMQ on Redis, configured as BullMQ's production guide says: producers fail fast while
 * Redis is down (the API answers 503 or falls back, never hangs), workers retry forever.
 */
export function createRedisBackend(options: { url: string; prefix: string; logger: Logger }): QueueBackend {
  const { url, prefix, logger } = options
  const log = logger.child({ component: 'redis' })
  const connections: Redis[] = []
  const connect = (name: string, extra: RedisOptions) => {
    const connection = new Redis(url, { connectionName: `${prefix}-${name}`, ...extra })
    connection.on('error', (error) => log.warn({ connection: name, err: error.message }, 'redis connection error'))
    connections.push(connection)
    return connection
  }
  const producer = connect('producer', { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
  // Rate-limit counters and the cache: one small command per request, sent together when many
  // requests are in flight at once (one write to the socket per tick instead of one per command).
  const shared = connect('shared', { enableOfflineQueue: false, maxRetriesPerRequest: 1, enableAutoPipelining: true })
  const bus = createRedisBus(
    connect('publisher', { enableOfflineQueue: false, maxRetriesPerRequest: 1 }),
    connect('subscriber', { maxRetriesPerRequest: null }),
    prefix,
    log,
  )

  // Set when a role starts, by migrations and when the scheduler has restored the schedules; a
  // Redis that lost its data (FLUSHALL, a replaced instance without persistence) has lost it too,
  // so readiness says "not ready" until the schedules are back.
  const marker = `${prefix}:pam:in-use`
  const markInUse = async () => {
    if (producer.status !== 'ready') await once(producer, 'ready', { signal: AbortSignal.timeout(5_000) })
    await producer.set(marker, new Date().toISOString())
  }

  return {
    kind: 'redis',
    bus,
    redis: shared,
    createQueue: (name) => new Queue(name, { connection: producer, prefix }),
    createWorker: (name, processor, settings) =>
      new Worker(name, processor, {
        ...settings,
        prefix,
        connection: connect(`worker-${name}`, { maxRetriesPerRequest: null }),
      }),
    async pingRedis(timeoutMs) {
      const found = await Promise.race([
        producer.exists(marker),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('redis ping timed out')), timeoutMs).unref(),
        ),
      ])
      if (found === 0) throw new Error('Redis lost its data (schedules, queued jobs) since PAM set it up')
    },
    markInUse,
    async migrate() {
      await markInUse()
    },
    async checkSettings() {
      try {
        // The producer fails fast while disconnected, so give it a moment to connect first.
        if (producer.status !== 'ready') await once(producer, 'ready', { signal: AbortSignal.timeout(5_000) })
        const reply = (await producer.config('GET', 'maxmemory-policy')) as string[]
        const policy = reply[1]
        if (policy && policy !== 'noeviction') {
          log.warn(
            { maxmemoryPolicy: policy },
            'Redis maxmemory-policy is not noeviction: under memory pressure Redis may evict queued jobs; set it to noeviction',
          )
        }
      } catch (error) {
        // Managed Redis often forbids CONFIG, and Redis may be down: the check is advice, not a gate.
        log.debug({ err: messageOf(error) }, 'could not read maxmemory-policy')
      }
    },
    async close() {
      await bus.close()
      for (const connection of connections) connection.disconnect()
    },
  }
}
