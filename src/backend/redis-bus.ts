import type { Redis } from 'ioredis'
import type { Logger } from '../logger.js'
import type { Bus } from './backend.js'

/**
 * Redis pub/sub. The subscriber connection re-subscribes by itself after a reconnect
 * (ioredis `autoResubscribe`), so listeners survive a Redis restart.
 */
export function createRedisBus(publisher: Redis, subscriber: Redis, prefix: string, logger: Logger): Bus {
  const handlers = new Map<string, Set<(message: unknown) => void>>()
  const key = (channel: string) => `${prefix}:bus:${channel}`

  subscriber.on('message', (channel: string, payload: string) => {
    const listeners = handlers.get(channel)
    if (!listeners) return
    let message: unknown
    try {
      message = JSON.parse(payload)
    } catch {
      logger.warn({ channel }, 'dropped a bus message that is not JSON')
      return
    }
    for (const listener of listeners) listener(message)
  })

  return {
    async publish(channel, message) {
      await publisher.publish(key(channel), JSON.stringify(message))
    },
    async subscribe(channel, onMessage) {
      const name = key(channel)
      let listeners = handlers.get(name)
      if (!listeners) {
        listeners = new Set()
        handlers.set(name, listeners)
        await subscriber.subscribe(name)
      }
      listeners.add(onMessage)
      return async () => {
        listeners.delete(onMessage)
        if (listeners.size === 0 && handlers.get(name) === listeners) {
          handlers.delete(name)
          await subscriber.unsubscribe(name).catch(() => undefined)
        }
      }
    },
    async close() {
      handlers.clear()
      subscriber.disconnect()
    },
  }
}
