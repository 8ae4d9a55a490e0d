import type { Redis } from 'ioredis'
import type { Logger } from '../logger.js'
import type { Bus } from './backend.js'
import { createListeners } from './listeners.js'

/**
 * Redis pub/sub. The subscriber connection re-subscribes by itself after a reconnect
 * (ioredis `autoResubscribe`), so listeners survive a Redis restart.
 */
export function createRedisBus(publisher: Redis, subscriber: Redis, prefix: string, logger: Logger): Bus {
  const listeners = createListeners(logger)
  const key = (channel: string) => `${prefix}:bus:${channel}`
  subscriber.on('message', (channel: string, payload: string) => listeners.dispatch(channel, payload))

  return {
    async publish(channel, message) {
      await publisher.publish(key(channel), JSON.stringify(message))
    },
    async subscribe(channel, onMessage) {
      const name = key(channel)
      if (listeners.add(name, onMessage)) await subscriber.subscribe(name)
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
