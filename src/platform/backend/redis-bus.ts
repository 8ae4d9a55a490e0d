import type { Redis } from 'ioredis'
import type { Logger } from '../logger.js'
import type { Bus } from './backend.js'
import { createListeners } from './listeners.js'

/**
 * Redis pub/sub. The subscriber connection re-subscribes by itself after a reconnect
 * (ioredis `autoResubscribe`), so listeners survive a Redis restart; once subscribed again they
 * are told of the gap.
 */
export function createRedisBus(publisher: Redis, subscriber: Redis, prefix: string, logger: Logger): Bus {
  const listeners = createListeners(logger)
  const key = (channel: string) => `${prefix}:bus:${channel}`
  subscriber.on('message', (channel: string, payload: string) => listeners.dispatch(channel, payload))
  subscriber.on('ready', () => {
    const channels = listeners.channels()
    if (channels.length === 0) return
    // Subscribed again (ioredis' own resubscription is sent with this one): only then is the
    // gap closed, so what is read back and what arrives from now on meet.
    subscriber.subscribe(...channels).then(
      () => listeners.gap(),
      (error: Error) => logger.warn({ err: error.message }, 'bus not subscribed again after a reconnect'),
    )
  })

  return {
    async publish(channel, message) {
      await publisher.publish(key(channel), JSON.stringify(message))
    },
    async subscribe(channel, onMessage, options) {
      const name = key(channel)
      if (listeners.add(name, onMessage, options?.onGap)) await subscriber.subscribe(name)
      return async () => {
        if (listeners.remove(name, onMessage)) await subscriber.unsubscribe(name).catch(() => undefined)
      }
    },
    async close() {
      listeners.clear()
      subscriber.disconnect()
    },
  }
}
