import type { Cluster } from 'ioredis'
import type { Logger } from '../logger.js'
import type { Bus, RedisClient } from './backend.js'
import { createListeners } from './listeners.js'

/**
 * Redis pub/sub. The subscriber connection re-subscribes by itself after a reconnect
 * (ioredis `autoResubscribe`), so listeners survive a Redis restart; once subscribed again they
 * are told of the gap.
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
  subscriber.on(sharded ? 'subscribersReady' : 'ready', () => {
    const channels = listeners.channels()
    if (channels.length === 0) return
    // Subscribed again (ioredis' own resubscription is sent with this one): only then is the
    // gap closed, so what is read back and what arrives from now on meet.
    subscribe(channels).then(
      () => listeners.gap(),
      (error: Error) => logger.warn({ err: error.message }, 'bus not subscribed again after a reconnect'),
    )
  })

  return {
    async publish(channel, message) {
      const payload = JSON.stringify(message)
      if (sharded) await publisher.spublish(key(channel), payload)
      else await publisher.publish(key(channel), payload)
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
      listeners.clear()
      subscriber.disconnect()
    },
  }
}
