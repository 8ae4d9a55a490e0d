import { once } from 'node:events'
import { Queue, Worker } from 'bullmq'
import { Redis, type RedisOptions } from 'ioredis'
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
  const bus = createRedisBus(
    connect('publisher', { enableOfflineQueue: false, maxRetriesPerRequest: 1 }),
    connect('subscriber', { maxRetriesPerRequest: null }),
    prefix,
    log,
  )

  return {
    kind: 'redis',
    bus,
    redis: producer,
    createQueue: (name) => new Queue(name, { connection: producer, prefix }),
    createWorker: (name, processor, settings) =>
      new Worker(name, processor, {
        ...settings,
        prefix,
        connection: connect(`worker-${name}`, { maxRetriesPerRequest: null }),
      }),
    async pingRedis(timeoutMs) {
      await Promise.race([
        producer.ping(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('redis ping timed out')), timeoutMs).unref()),
      ])
    },
    async migrate() {},
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
        log.debug({ err: (error as Error).message }, 'could not read maxmemory-policy')
      }
    },
    async close() {
      await bus.close()
      for (const connection of connections) connection.disconnect()
    },
  }
}
