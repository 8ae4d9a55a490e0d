import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import WebSocket from 'ws'
import type { Config } from '../../platform/config.js'
import { localBase } from './next-steps.js'
import { mintUserToken } from './token.js'
import { UsageError } from './usage-error.js'

// Close codes of /v1/stream (src/http/stream/hub.ts): the token expired; too many sockets for one user.
const TOKEN_EXPIRED = 4001
const TOO_MANY_SOCKETS = 4008
const BACKOFF_FIRST_MS = 500
const BACKOFF_MAX_MS = 10_000
const CLOCK_MARGIN_MS = 60_000
// Events remembered to drop repeats (a replay after a reconnect overlaps what was seen live).
const REMEMBERED_EVENTS = 10_000

interface Alert {
  id: string
  kind?: string
  priority?: string
  title?: string
  createdAt?: string
  resolvedAt?: string | null
  readAt?: string | null
  dismissedAt?: string | null
}

/** A stream event as the server sends it; `changedAt` and `resolvedAt` where the server gives them. */
interface StreamEvent {
  type: string
  alert?: Alert
  alertId?: string
  changedAt?: string
  resolvedAt?: string
}

/** Why watching stopped for good (exit 1), as opposed to a lost connection (reconnect). */
class WatchStopped extends Error {}

/**
 * `pam watch (--user <uuid> | --token <jwt>) [--url URL] [--since TIME]`: a traveller's alerts as
 * they happen, one line each, from /v1/stream. After a lost connection (a restart, a network
 * blip) it reconnects with backoff and `?since=` the newest change it saw, dropping repeats, so
 * nothing is missed or shown twice. `--user` mints a dev token like `pam token` (again whenever the
 * server says it expired); `--token` uses the one given, anywhere.
 */
export async function runWatchCommand(config: Config, args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      user: { type: 'string' },
      token: { type: 'string' },
      url: { type: 'string' },
      since: { type: 'string' },
    },
    strict: true,
  })
  if (!values.user === !values.token) throw new UsageError('give --user <uuid> (development) or --token <jwt>')
  if (values.since !== undefined && Number.isNaN(Date.parse(values.since)))
    throw new UsageError('--since must be a time, e.g. 2026-12-04T10:00:00Z')
  const base = parseBase(values.url ?? localBase(config))
  const user = values.user
  const token = user ? () => mintUserToken(config, user) : async () => values.token as string
  // Checked before the first connection: a bad --user is a usage error, not a retry loop.
  await token()

  const controller = new AbortController()
  const stop = () => controller.abort()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  const printer = eventPrinter(values.since)
  process.stderr.write(`watching the alerts of ${user ?? 'the token’s traveller'} on ${base.origin} (Ctrl-C stops)\n`)
  try {
    let failures = 0
    while (!controller.signal.aborted) {
      const url = new URL('/v1/stream', base)
      url.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:'
      if (printer.since()) url.searchParams.set('since', printer.since() as string)
      const outcome = await connectOnce(url, await token(), printer, controller.signal)
      if (outcome.greeted) failures = 0
      if (controller.signal.aborted) break
      if (outcome.closeCode === TOKEN_EXPIRED) {
        if (!user) throw new WatchStopped('the token expired (close 4001): run again with a fresh --token')
        process.stderr.write('token expired: minting a fresh one and reconnecting\n')
        continue
      }
      if (outcome.closeCode === TOO_MANY_SOCKETS) {
        throw new WatchStopped(
          'this traveller already holds the most streams the server allows (close 4008, STREAM_MAX_SOCKETS_PER_USER): close one, then run again',
        )
      }
      if (outcome.status === 401) {
        throw new WatchStopped(
          `${base.origin} refused the token (401)${user ? ': is --url the server of this clone (its JWT secret)?' : ''}`,
        )
      }
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** failures++)
      process.stderr.write(`${outcome.reason}; reconnecting in ${(delay / 1000).toFixed(1)} s\n`)
      await sleep(delay * (0.8 + Math.random() * 0.4), undefined, { signal: controller.signal }).catch(() => undefined)
    }
  } catch (error) {
    if (!(error instanceof WatchStopped)) throw error
    process.stderr.write(`pam: watch: ${error.message}\n`)
    process.exitCode = 1
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  }
}

function parseBase(text: string): URL {
  try {
    const url = new URL(text)
    if (url.protocol === 'http:' || url.protocol === 'https:') return url
  } catch {
    // Reported below.
  }
  throw new UsageError(`--url must be the server's http(s) address, e.g. http://127.0.0.1:8000 (got ${text})`)
}

interface Outcome {
  /** The server said hello: the connection was up (so the backoff starts over). */
  greeted: boolean
  closeCode?: number
  /** The HTTP status of a refused upgrade. */
  status?: number
  reason: string
}

/** One connection, until it closes or `signal` aborts; events go to the printer. */
function connectOnce(url: URL, token: string, printer: ReturnType<typeof eventPrinter>, signal: AbortSignal) {
  return new Promise<Outcome>((resolve) => {
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } })
    let greeted = false
    const done = (outcome: Omit<Outcome, 'greeted'>) => {
      signal.removeEventListener('abort', onAbort)
      resolve({ greeted, ...outcome })
    }
    const onAbort = () => socket.close(1000)
    signal.addEventListener('abort', onAbort, { once: true })
    socket.on('message', (data) => {
      let event: StreamEvent
      try {
        event = JSON.parse(String(data)) as StreamEvent
      } catch {
        return
      }
      if (event.type === 'hello') {
        if (printer.since()) process.stderr.write(`connected; catching up from ${printer.since()}\n`)
        else printer.connected()
        greeted = true
        return
      }
      printer.print(event)
    })
    socket.on('unexpected-response', (_request, response) => {
      response.resume()
      socket.terminate()
      done({ status: response.statusCode, reason: `${url.origin} answered ${response.statusCode}` })
    })
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const reason =
        error.code === 'ECONNREFUSED' ? `cannot reach ${url.origin} (is PAM running?)` : `connection: ${error.message}`
      done({ reason })
    })
    socket.on('close', (code, why) =>
      done({ closeCode: code, reason: `connection closed (${code}${why.length ? ` ${why}` : ''})` }),
    )
  })
}

/**
 * Prints each event once, as a line, and remembers the newest server time seen: the `since` of
 * the next connection. Times come from the server (changedAt, createdAt, resolvedAt), never from
 * this machine's clock, so a clock that differs cannot skip a change.
 */
export function eventPrinter(since: string | undefined, write = (line: string) => process.stdout.write(line)) {
  let newest = since
  const seen = new Set<string>()
  const known = new Map<string, Alert>()
  const later = (a: string | undefined, b: string | undefined) =>
    !a ? b : !b ? a : Date.parse(b) > Date.parse(a) ? b : a
  return {
    since: () => newest,
    /**
     * Connected before any event: a later reconnect must still replay what happens meanwhile.
     * With no server time yet, this machine's clock stands in, a minute early (repeats are dropped).
     */
    connected() {
      newest ??= new Date(Date.now() - CLOCK_MARGIN_MS).toISOString()
    },
    print(event: StreamEvent) {
      const alert = event.alert ?? (event.alertId ? { ...known.get(event.alertId), id: event.alertId } : undefined)
      if (!alert?.id) return
      const at =
        event.changedAt ??
        (event.type === 'alert.created' ? alert.createdAt : (event.resolvedAt ?? alert.resolvedAt ?? undefined))
      newest = later(newest, at)
      // An update can come more than once for one alert (text rewritten, then read): its state is part of the key.
      const state =
        event.type === 'alert.updated'
          ? (event.changedAt ?? `${alert.title}|${alert.readAt ?? ''}|${alert.dismissedAt ?? ''}`)
          : ''
      const key = `${alert.id}|${event.type}|${state}`
      if (seen.has(key)) return
      seen.add(key)
      if (seen.size > REMEMBERED_EVENTS) seen.delete(seen.values().next().value as string)
      if (event.alert) known.set(alert.id, event.alert)
      write(`${formatLine(event.type, alert, at)}\n`)
    },
  }
}

const WORDS: Record<string, string> = {
  'alert.created': 'new',
  'alert.updated': 'updated',
  'alert.resolved': 'resolved',
  'alert.expired': 'expired',
}

/** `14:02:31  new       high    fuel_low            Fuel at 15 %: about 96 km of range  (3f2a9c1e)` */
function formatLine(type: string, alert: Alert, at: string | undefined): string {
  const time = (at ? new Date(at) : new Date()).toTimeString().slice(0, 8)
  const what = (WORDS[type] ?? type).padEnd(9)
  return `${time}  ${what} ${(alert.priority ?? '').padEnd(7)} ${(alert.kind ?? '').padEnd(19)} ${alert.title ?? ''}  (${alert.id.slice(0, 8)})`
}
