import pg from 'pg'
import { messageOf } from '../errors/error-message.js'
import type { Logger } from '../logger.js'
import type { Bus } from './backend.js'
import { createListeners } from './listeners.js'

const MAX_IDENTIFIER_BYTES = 63
/** NOTIFY's limit on a payload (PostgreSQL's default build). */
const MAX_PAYLOAD_BYTES = 8_000
// A connection attempt costs the server next to nothing: while it is away the bus asks again
// every second at most, so it listens again within a second of the server's return (what was
// published meanwhile is read back by the subscriber on its gap).
const RECONNECT_MAX_MS = 1_000

/**
 * PostgreSQL LISTEN/NOTIFY. One dedicated connection listens for this process; it is rebuilt
 * when the server goes away (retried every second at most), every channel is listened to again,
 * and the listeners are told of the gap. NOTIFY goes through the shared pool.
 */
export function createPgBus(options: { url: string; pool: pg.Pool; prefix: string; logger: Logger }): Bus {
  const { pool, logger } = options
  const listeners = createListeners(logger)
  let client: pg.Client | undefined
  let connecting: Promise<pg.Client> | undefined
  let closed = false

  const channelName = (channel: string) => {
    const name = `${options.prefix}.${channel}`
    if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) throw new Error(`bus channel name too long: ${name}`)
    return name
  }
  const quote = (name: string) => `"${name.replaceAll('"', '""')}"`

  const onNotification = (note: pg.Notification) => {
    if (note.payload !== undefined) listeners.dispatch(note.channel, note.payload)
  }

  async function connect(): Promise<pg.Client> {
    for (let attempt = 0; ; attempt++) {
      if (closed) throw new Error('bus closed')
      const next = new pg.Client({
        connectionString: options.url,
        application_name: 'pam-bus',
        keepAlive: true,
      })
      // Listening before connecting: a server that goes away mid-handshake emits too. Once the bus
      // is closed, a connection that ends is no news.
      next.on('error', (error) => {
        if (!closed) logger.warn({ err: error.message }, 'bus connection lost; reconnecting')
      })
      try {
        await next.connect()
        // Closed while connecting (a start that failed just after subscribing): this connection
        // would outlive the bus and hold up the database's shutdown.
        if (closed) throw new Error('bus closed')
        next.on('notification', onNotification)
        next.on('end', () => {
          if (client === next) client = undefined
          if (!closed && listeners.channels().length > 0) void ensureClient().catch(() => undefined)
        })
        // Until every registered channel is listened to: one subscribed during these LISTENs finds
        // no client yet and waits for this one, and nothing else would listen to it (under `pam
        // start`, the API's alerts channel behind the worker's, so the API heard no alert live).
        const listening = new Set<string>()
        for (let names = listeners.channels(); names.length > 0; ) {
          for (const name of names) {
            await next.query(`listen ${quote(name)}`)
            listening.add(name)
          }
          names = listeners.channels().filter((name) => !listening.has(name))
        }
        client = next
        // Listening now: whatever was published while no connection was, has to be read back.
        listeners.gap()
        return next
      } catch (error) {
        await next.end().catch(() => undefined)
        if (closed) throw new Error('bus closed')
        const delay = Math.min(RECONNECT_MAX_MS, 250 * 2 ** attempt)
        logger.warn({ err: messageOf(error), retryInMs: delay }, 'bus cannot reach PostgreSQL; retrying')
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }
  }

  function ensureClient(): Promise<pg.Client> {
    if (client) return Promise.resolve(client)
    connecting ??= connect().finally(() => {
      connecting = undefined
    })
    return connecting
  }

  return {
    async publish(channel, ...payloads) {
      // NOTIFY refuses a payload this long, and the statement with it: the others still go.
      const fit = payloads.filter((payload) => Buffer.byteLength(payload) < MAX_PAYLOAD_BYTES)
      // One statement, so one commit: NOTIFY serializes every notifying commit on a lock of its
      // own, which a page's dozens of messages sent one by one kept waiting on.
      if (fit.length > 0) {
        await pool.query('select pg_notify($1, m) from unnest($2::text[]) m', [channelName(channel), fit])
      }
      if (fit.length < payloads.length) {
        throw new Error(`${payloads.length - fit.length} bus message(s) of ${MAX_PAYLOAD_BYTES} bytes or more not sent`)
      }
    },
    async subscribe(channel, onMessage, options) {
      const name = channelName(channel)
      if (listeners.add(name, onMessage, options?.onGap)) {
        // A client still connecting listens to every registered channel once it is up.
        if (client) await client.query(`listen ${quote(name)}`)
        else await ensureClient()
      }
      return async () => {
        if (listeners.remove(name, onMessage)) await client?.query(`unlisten ${quote(name)}`).catch(() => undefined)
      }
    },
    async close() {
      closed = true
      listeners.clear()
      await client?.end().catch(() => undefined)
      client = undefined
    },
  }
}
