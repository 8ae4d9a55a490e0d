import type { Logger } from '../logger.js'

export type Listener = (message: unknown) => void

/**
 * Who listens to which bus channel in this process. Both buses keep one server-side
 * subscription per channel and fan messages out to listeners here.
 */
export function createListeners(logger: Logger) {
  const byChannel = new Map<string, Set<Listener>>()
  const onGaps = new Map<Listener, () => void>()
  return {
    /** Delivers a raw payload; one that is not JSON is dropped with a warning. */
    dispatch(channel: string, payload: string) {
      const listeners = byChannel.get(channel)
      if (!listeners) return
      let message: unknown
      try {
        message = JSON.parse(payload)
      } catch {
        logger.warn({ channel }, 'dropped a bus message that is not JSON')
        return
      }
      for (const listener of listeners) listener(message)
    },
    /**
     * Tells every listener that asked (`onGap`) that messages may have been lost: the connection
     * dropped and is listening again.
     */
    gap() {
      for (const onGap of onGaps.values()) onGap()
    },
    /** True when this is the channel's first listener: the caller subscribes on the server. */
    add(channel: string, listener: Listener, onGap?: () => void): boolean {
      if (onGap) onGaps.set(listener, onGap)
      const listeners = byChannel.get(channel)
      if (listeners) {
        listeners.add(listener)
        return false
      }
      byChannel.set(channel, new Set([listener]))
      return true
    },
    /** True when the channel has no listener left: the caller unsubscribes on the server. */
    remove(channel: string, listener: Listener): boolean {
      onGaps.delete(listener)
      const listeners = byChannel.get(channel)
      if (!listeners?.delete(listener) || listeners.size > 0) return false
      byChannel.delete(channel)
      return true
    },
    channels: () => [...byChannel.keys()],
    clear: () => {
      byChannel.clear()
      onGaps.clear()
    },
  }
}
