import type { WebSocket } from '@fastify/websocket'
import type { ChangedVersion } from '../../monitoring/alerts/alert-changes.js'
import { ALERT_CHANNEL, type AlertEvent, alertIdOf, unpackAlertEvents } from '../../monitoring/alerts/alert-store.js'
import type { Bus } from '../../platform/backend/backend.js'
import { messageOf } from '../../platform/errors/error-message.js'
import type { Logger } from '../../platform/logger.js'

export interface HubOptions {
  logger: Logger
  /** A client this far behind (bytes queued, unsent) is disconnected rather than buffered without bound. */
  maxBufferedBytes: number
  /** Ping every socket this often; one that has not answered the previous ping is dropped. */
  pingIntervalMs: number
  /** Sockets one user may hold in this process; the next is closed with 4008. */
  maxSocketsPerUser: number
  /** Messages a client may send per minute (it has nothing to say here); past that, closed with 1008. */
  maxClientMessagesPerMinute: number
}

/**
 * The limits of every API process's hub; only the sockets per user are configured. Clients send
 * nothing on this stream: a few messages a minute (a keep-alive of their own) are tolerated.
 */
export const STREAM_LIMITS = {
  maxBufferedBytes: 1024 * 1024,
  pingIntervalMs: 30_000,
  maxClientMessagesPerMinute: 30,
} satisfies Partial<HubOptions>

/** Close codes a client acts on (docs/api.md): reconnect with a fresh token; too many sockets. */
export const CLOSE_TOKEN_EXPIRED = 4001
export const CLOSE_TOO_MANY_SOCKETS = 4008
const CLOSE_POLICY_VIOLATION = 1008
// setTimeout's limit (~24.8 days); a token living longer is re-checked then.
const MAX_TIMER_MS = 2 ** 31 - 1

/** What a client reads (docs/api.md): the events without their routing field. */
type Outgoing = { type: 'hello' } | DistributiveOmit<AlertEvent, 'userId'>
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

interface Client {
  socket: WebSocket
  alive: boolean
  /** Live events that arrived while the replay was being read; sent after it, without repeats. */
  held: AlertEvent[] | undefined
  /** Cut off as too slow: its close may take a while, and it gets nothing more meanwhile. */
  cut: boolean
  /**
   * The newest version of each alert this socket was sent, and when (this process's clock): a
   * change comes by the bus, a replay or a catch-up, and is sent once whichever comes first.
   */
  sent: Map<string, { version: number; at: number }>
}

/**
 * The sockets of this API process, by user. Events come from the bus (any worker, any process)
 * and from PostgreSQL (a replay, a catch-up: catch-up.ts), and go to every open socket
 * of their user and no one else's, each change once: an event no newer than what the socket was
 * sent of its alert is dropped.
 */
export function createHub(options: HubOptions) {
  const clients = new Map<string, Set<Client>>()
  const log = options.logger.child({ component: 'stream' })

  const send = (client: Client, message: Outgoing) => {
    if (client.cut) return
    if (client.socket.bufferedAmount > options.maxBufferedBytes) {
      // Once: events keep arriving until the socket's close completes, and each would log again.
      client.cut = true
      log.warn({ buffered: client.socket.bufferedAmount }, 'a slow client fell too far behind; disconnecting it')
      client.socket.terminate()
      return
    }
    client.socket.send(JSON.stringify(message))
  }
  const outgoing = ({ userId: _, ...message }: AlertEvent): Outgoing => message
  const sendChange = (client: Client, event: AlertEvent) => {
    // An event from a process older than versions has none: sent as it comes.
    if (typeof event.version === 'number') {
      const id = alertIdOf(event)
      const known = client.sent.get(id)
      if (known && known.version >= event.version) return
      client.sent.set(id, { version: event.version, at: Date.now() })
    }
    send(client, outgoing(event))
  }
  const allClients = function* () {
    for (const set of clients.values()) yield* set
  }

  const pinger = setInterval(() => {
    for (const client of allClients()) {
      if (!client.alive) {
        client.socket.terminate()
        continue
      }
      client.alive = false
      client.socket.ping()
    }
  }, options.pingIntervalMs)
  pinger.unref()

  return {
    /**
     * Takes a socket of an authenticated user: `hello`, then the replay (the changes after
     * `since`, page by page), then live events. Events that arrive during the replay wait for it.
     */
    async attach(
      userId: string,
      socket: WebSocket,
      replay: () => Iterable<AlertEvent[]> | AsyncIterable<AlertEvent[]>,
      tokenExpiresAt?: Date,
    ): Promise<void> {
      const set = clients.get(userId) ?? new Set()
      if (set.size >= options.maxSocketsPerUser) {
        socket.close(CLOSE_TOO_MANY_SOCKETS, `at most ${options.maxSocketsPerUser} streams per user`)
        return
      }
      const client: Client = { socket, alive: true, held: [], cut: false, sent: new Map() }
      set.add(client)
      clients.set(userId, set)
      // The token's life is the socket's: then the client reconnects with a fresh one and ?since=.
      const expiry =
        tokenExpiresAt &&
        setTimeout(
          () => socket.close(CLOSE_TOKEN_EXPIRED, 'token expired; reconnect with a fresh token'),
          Math.min(Math.max(tokenExpiresAt.getTime() - Date.now(), 0), MAX_TIMER_MS),
        )
      socket.on('pong', () => {
        client.alive = true
      })
      socket.on('close', () => {
        clearTimeout(expiry)
        set.delete(client)
        if (set.size === 0 && clients.get(userId) === set) clients.delete(userId)
      })
      // Clients have nothing to say on this stream: what they send is ignored, up to a rate.
      let window = { start: Date.now(), messages: 0 }
      socket.on('message', () => {
        const now = Date.now()
        if (now - window.start >= 60_000) window = { start: now, messages: 0 }
        if (++window.messages > options.maxClientMessagesPerMinute) {
          socket.close(CLOSE_POLICY_VIOLATION, 'too many messages')
        }
      })
      send(client, { type: 'hello' })
      try {
        for await (const page of replay()) for (const event of page) sendChange(client, event)
        for (const event of client.held ?? []) sendChange(client, event)
      } catch (error) {
        log.warn({ err: messageOf(error) }, 'could not replay alerts; closing the stream')
        socket.close(1011, 'replay failed; reconnect')
      } finally {
        client.held = undefined
      }
    },

    deliver(event: AlertEvent): void {
      for (const client of clients.get(event.userId) ?? []) {
        if (client.held) client.held.push(event)
        else sendChange(client, event)
      }
    },

    /** The users holding a socket here: whose changes a catch-up reads. */
    users: (): string[] => [...clients.keys()],

    /** The alerts among `changed` that a socket of their user was not sent at that version or a later one. */
    missing(changed: readonly ChangedVersion[]): string[] {
      return changed
        .filter(({ id, userId, version }) =>
          [...(clients.get(userId) ?? [])].some((client) => (client.sent.get(id)?.version ?? 0) < version),
        )
        .map(({ id }) => id)
    },

    /** Forgets what was sent before `before` (this process's clock): no catch-up reads those changes again. */
    forget(before: number): void {
      for (const client of allClients()) {
        for (const [id, sent] of client.sent) if (sent.at < before) client.sent.delete(id)
      }
    },

    close(): void {
      clearInterval(pinger)
      for (const client of allClients()) client.socket.close(1001, 'server shutting down')
      clients.clear()
    },
  }
}

export type Hub = ReturnType<typeof createHub>

/**
 * Feeds the hub every alert change of every process, from the bus; returns how to stop. Not
 * awaited: with the store down the API must still start (and say so on /ready); the bus listens
 * as soon as its connection is up, and keeps listening across reconnects. `onGap` is called when
 * the bus is back after losing its connection: what was published meanwhile never arrives.
 */
export function feedHubFromBus(hub: Hub, bus: Bus, logger: Logger, onGap: () => void): () => Promise<void> {
  // Stopping never waits for a subscription still pending (the store down all along).
  let unsubscribe: (() => Promise<void>) | undefined
  bus
    .subscribe(
      ALERT_CHANNEL,
      (message) => {
        for (const event of unpackAlertEvents(message)) hub.deliver(event)
      },
      { onGap },
    )
    .then(
      (stop) => {
        unsubscribe = stop
      },
      (error) => logger.warn({ err: messageOf(error) }, 'alert stream not subscribed to the bus yet'),
    )
  return async () => {
    await unsubscribe?.()
  }
}
