import { once } from 'node:events'
import { Queue, Worker } from 'bullmq'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import { messageOf } from '../errors/error-message.js'
import type { Logger } from '../logger.js'
import type { PamWorker, QueueBackend, RedisClient } from './backend.js'
import type { QueueName } from './queue-names.js'
import { createRedisBus } from './redis-bus.js'

type ConnectionOptions = Pick<
  RedisOptions,
  'enableOfflineQueue' | 'maxRetriesPerRequest' | 'enableAutoPipelining' | 'autoResubscribe'
>

export interface ClusterNode {
  host: string
  port: number
}

/**
 * A Redis Cluster reached from one node's URL (a managed cluster's configuration endpoint) and any
 * `more` nodes: the URL's credentials and TLS apply to every node the client discovers, not only
 * to the seeds. Every new connection (BullMQ opens one per blocking worker, and again after each
 * failure) starts from the seeds, so a lone seed that goes down leaves them nowhere to start.
 */
function clusterConnection(url: string, more: readonly ClusterNode[], name: string, extra: ConnectionOptions): Cluster {
  const seed = new URL(url)
  const tls = seed.protocol === 'rediss:'
  const { enableOfflineQueue, enableAutoPipelining, maxRetriesPerRequest } = extra
  return new Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }, ...more], {
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    ...(enableAutoPipelining === undefined ? {} : { enableAutoPipelining }),
    // Sharded pub/sub (SSUBSCRIBE): a bus message goes to its channel's shard only, where classic
    // PUBLISH is copied to every node of the cluster.
    shardedSubscribers: true,
    // TLS certificates name the endpoint's host, not the addresses the nodes announce (ioredis'
    // advice for ElastiCache with TLS).
    ...(tls
      ? { dnsLookup: (address: string, done: (error: null, address: string) => void) => done(null, address) }
      : {}),
    redisOptions: {
      connectionName: name,
      ...(maxRetriesPerRequest === undefined ? {} : { maxRetriesPerRequest }),
      ...(seed.username ? { username: decodeURIComponent(seed.username) } : {}),
      ...(seed.password ? { password: decodeURIComponent(seed.password) } : {}),
      ...(tls ? { tls: {} } : {}),
    },
  })
}

/**
 * BullMQ on Redis, configured as BullMQ's production guide says: producers fail fast while
 * Redis is down (the API answers 503 or falls back, never hangs), workers retry forever.
 * `cluster`: Redis is a Redis Cluster, `url` one of its nodes and `cluster.nodes` more to start from.
 */
export function createRedisBackend(options: {
  url: string
  prefix: string
  cluster?: { nodes: readonly ClusterNode[] }
  logger: Logger
}): QueueBackend {
  const { url, prefix, logger } = options
  const { cluster } = options
  const log = logger.child({ component: 'redis' })
  const connections: RedisClient[] = []
  const workerConnections = new Map<PamWorker, RedisClient>()
  /** Disconnects a worker's own connection and forgets it. */
  const drop = (worker: PamWorker) => {
    const connection = workerConnections.get(worker)
    if (!connection) return
    workerConnections.delete(worker)
    const at = connections.indexOf(connection)
    if (at >= 0) connections.splice(at, 1)
    connection.disconnect()
  }
  const connect = (name: string, extra: ConnectionOptions) => {
    const connectionName = `${prefix}-${name}`
    const connection = cluster
      ? clusterConnection(url, cluster.nodes, connectionName, extra)
      : new Redis(url, { connectionName, ...extra })
    connection.on('error', (error: Error) =>
      log.warn({ connection: name, err: error.message }, 'redis connection error'),
    )
    connections.push(connection)
    return connection
  }
  // On a cluster, a multi-key command (all of BullMQ's scripts) must find its keys in one slot:
  // each queue gets a hash tag of its own, so one queue is one slot and the queues spread over the
  // shards. A single Redis keeps the plain prefix, and with it the keys deployments already have.
  const queuePrefix = (name: QueueName) => (cluster ? `{${prefix}:${name}}` : prefix)
  const producer = connect('producer', { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
  // Rate-limit counters and the cache: one small command per request, sent together when many
  // requests are in flight at once (one write to the socket per tick instead of one per command).
  const shared = connect('shared', { enableOfflineQueue: false, maxRetriesPerRequest: 1, enableAutoPipelining: true })
  const bus = createRedisBus(
    connect('publisher', { enableOfflineQueue: false, maxRetriesPerRequest: 1 }),
    // Resubscribed by the bus itself after a reconnect (redis-bus.ts), where a refusal is handled. A
    // cluster's shard subscribers keep their own resubscription (ioredis catches its refusals).
    // autoResubscribe is a single Redis's option: clusterConnection takes none of it.
    connect('subscriber', { maxRetriesPerRequest: null, autoResubscribe: false }),
    prefix,
    log,
    { sharded: cluster !== undefined },
  )

  // Set when a role starts, by migrations and when the scheduler has restored the schedules; a
  // Redis that lost its data (FLUSHALL, a replaced instance without persistence) has lost it too,
  // so readiness says "not ready" until the schedules are back. On a cluster it lives in the slot
  // of the queue that holds the schedules, so it is lost with them.
  const marker = cluster ? `${queuePrefix('maintenance')}:pam:in-use` : `${prefix}:pam:in-use`
  const ready = async () => {
    if (producer.status !== 'ready') await once(producer, 'ready', { signal: AbortSignal.timeout(5_000) })
  }
  const markInUse = async () => {
    await ready()
    await producer.set(marker, new Date().toISOString())
  }
  // Every node that holds data: a cluster's masters each have their own settings.
  const masters = (): Redis[] => (producer instanceof Cluster ? producer.nodes('master') : [producer])

  return {
    kind: 'redis',
    bus,
    redis: shared,
    createQueue: (name) => new Queue(name, { connection: producer, prefix: queuePrefix(name) }),
    createWorker: (name, processor, settings) => {
      const connection = connect(`worker-${name}`, { maxRetriesPerRequest: null })
      const worker = new Worker(name, processor, { ...settings, prefix: queuePrefix(name), connection })
      // The connection is the worker's alone: BullMQ leaves one it was given open when it closes.
      workerConnections.set(worker, connection)
      worker.once('closed', () => drop(worker))
      return worker
    },
    retireWorker(worker) {
      worker
        .close(true)
        .catch((error: unknown) => log.warn({ err: messageOf(error) }, 'a retired worker did not close'))
      drop(worker)
    },
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
        await ready()
        for (const node of masters()) {
          const reply = (await node.config('GET', 'maxmemory-policy')) as string[]
          const policy = reply[1]
          if (policy && policy !== 'noeviction') {
            log.warn(
              { maxmemoryPolicy: policy, ...(cluster ? { node: `${node.options.host}:${node.options.port}` } : {}) },
              'Redis maxmemory-policy is not noeviction: under memory pressure Redis may evict queued jobs; set it to noeviction',
            )
          }
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
