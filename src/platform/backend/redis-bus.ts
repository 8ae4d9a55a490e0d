import type { Cluster } from 'ioredis'
import type { Logger } from '../logger.js'
import type { Bus, RedisClient } from './backend.js'
import { createListeners } from './listeners.js'

/** The longest a refused resubscription waits before it is asked again (from 1 s, doubling). */
const RESUBSCRIBE_MAX_MS = 30_000

/**
 * Redis pub/sub. The bus subscribes again after each reconnect of its subscriber connection, until
 * Redis accepts (so listeners survive a Redis restart), and then tells the listeners of the gap.
 * A single Redis's subscriber is made without ioredis' own `autoResubscribe` (redis.ts): a
 * resubscription it sends and Redis refuses is a promise nobody holds, which would end the process.
 *
 * `sharded` (a Redis Cluster): SPUBLISH/SSUBSCRIBE, so a message goes to the shard of its channel
 * rather than to every node. ioredis keeps one subscriber per master (`shardedSubscribers`) and
 * moves the channels of a failed master to its promoted replica, announcing `subscribersReady`.
 */
export function createRedisBus(
  publisher: RedisClient,
  subscriber: RedisClient,
  prefix: string,
  logger: Logger,
  options: { sharded?: boolean } = {},
): Bus {
  const listeners = createListeners(logger)
  const key = (channel: string) => `${prefix}:bus:${channel}`
  const sharded = options.sharded === true
  // One channel per SSUBSCRIBE: channels of different slots in one command would be refused.
  const subscribe = (channels: string[]) =>
    sharded
      ? Promise.all(channels.map((channel) => (subscriber as Cluster).ssubscribe(channel)))
      : subscriber.subscribe(...channels)
  subscriber.on(sharded ? 'smessage' : 'message', (channel: string, payload: string) =>
    listeners.dispatch(channel, payload),
  )
  // Each reconnect starts a new round of resubscribing; a round superseded by a later reconnect,
  // or by closing, stops retrying.
  let round = 0
  const resubscribe = (mine: number, attempt: number) => {
    const channels = listeners.channels()
    if (mine !== round || channels.length === 0) return
    // A retry on a cluster first drops the channels: ioredis adds them to its shard subscribers'
    // list on every SSUBSCRIBE, refused or not, and would otherwise resubscribe each many times.
    const dropped =
      sharded && attempt > 0
        ? Promise.all(channels.map((channel) => (subscriber as Cluster).sunsubscribe(channel).catch(() => undefined)))
        : Promise.resolve()
    // Subscribed again: only then is the gap closed, so what is read back and what arrives from
    // now on meet. A refusal (a shard still changing hands, an ACL) is retried, never left deaf
    // until the next reconnect, which may never come.
    dropped
      .then(() => subscribe(channels))
      .then(
        () => {
          if (mine === round) listeners.gap()
        },
        (error: Error) => {
          if (mine !== round) return
          const retryInMs = Math.min(RESUBSCRIBE_MAX_MS, 1_000 * 2 ** attempt)
          logger.warn({ err: error.message, retryInMs }, 'bus not subscribed again after a reconnect; retrying')
          setTimeout(() => resubscribe(mine, attempt + 1), retryInMs).unref()
        },
      )
  }
  subscriber.on(sharded ? 'subscribersReady' : 'ready', () => {
    round += 1
    resubscribe(round, 0)
  })

  return {
    async publish(channel, ...payloads) {
      const name = key(channel)
      if (sharded) {
        // One after the other: a cluster retries a command refused in a failover through any
        // master, so commands sent back to back could arrive out of order.
        for (const payload of payloads) await publisher.spublish(name, payload)
        return
      }
      // One connection keeps the order: a page's messages go in one write and one round trip.
      const pipeline = publisher.pipeline()
      for (const payload of payloads) pipeline.publish(name, payload)
      const failed = (await pipeline.exec())?.find(([error]) => error)
      if (failed) throw failed[0]
    },
    async subscribe(channel, onMessage, options) {
      const name = key(channel)
      if (listeners.add(name, onMessage, options?.onGap)) await subscribe([name])
      return async () => {
        if (!listeners.remove(name, onMessage)) return
        const ended = sharded ? subscriber.sunsubscribe(name) : subscriber.unsubscribe(name)
        await ended.catch(() => undefined)
      }
    },
    async close() {
      round += 1
      listeners.clear()
      subscriber.disconnect()
    },
  }
}
