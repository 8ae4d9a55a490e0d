import type { Alert } from './types.js'

/** One change of the traveller's alerts, as /v1/stream sends it (docs/api.md, "The live stream"). */
export type StreamEvent =
  | { type: 'alert.created' | 'alert.updated'; alert: Alert; version: number; changedAt: string }
  | { type: 'alert.resolved' | 'alert.expired'; alertId: string; version: number; changedAt: string }

/** Why watching stopped for good; `closed` is the caller's own `close()` or abort. */
export type WatchEnd =
  | { reason: 'closed' }
  | { reason: 'too_many_sockets' | 'token_expired' | 'unauthorized'; message: string }

export type WatchStatus =
  | { state: 'connecting'; attempt: number }
  | { state: 'open'; since: string | undefined }
  | { state: 'waiting'; delayMs: number; why: string }

/** A token, or where to get one: called again for a fresh one when the server says it expired (close 4001). */
export type TokenSource = string | ((reason: 'start' | 'expired' | 'refused') => string | Promise<string>)

export interface WatchOptions {
  /** PAM's address, e.g. `https://pam.example.com` or `http://127.0.0.1:8000`. */
  baseUrl: string
  token: TokenSource
  /** The `changedAt` of the newest event already held: what changed after it is replayed first. */
  since?: string
  /** Each change once, in order of arrival; never an event whose version the caller already has. */
  onEvent(event: StreamEvent): void
  onStatus?(status: WatchStatus): void
  /** Called once when watching stops, with why (also `done`'s value). */
  onEnd?(end: WatchEnd): void
  signal?: AbortSignal
  /** Reconnect delays: exponential from `firstMs` to `maxMs`, each drawn at random below its cap (full jitter). */
  backoff?: { firstMs?: number; maxMs?: number }
  /** The WebSocket class (default: the platform's, as browsers and Node 22 have). */
  WebSocket?: typeof globalThis.WebSocket
}

export interface Watch {
  /** Resolves when watching has stopped for good. */
  done: Promise<WatchEnd>
  /** The `since` a new watch would resume from: the newest change time the server sent. */
  since(): string | undefined
  close(): void
}

// Close codes of /v1/stream (docs/api.md).
const TOKEN_EXPIRED = 4001
const TOO_MANY_SOCKETS = 4008
// Versions remembered to drop repeats; a replay covers seconds to minutes, far fewer alerts.
const REMEMBERED_ALERTS = 10_000
// With no server time yet, a reconnect replays from this long before the local clock's now.
const CLOCK_MARGIN_MS = 60_000

/**
 * Opens the traveller's alert stream and keeps it open: after any close or failure it reconnects
 * with `?since=` the newest change time the server sent (backing off with jitter), so nothing is
 * missed; each alert's version is remembered, so a replay's repeats are dropped and no event is
 * delivered twice. It stops on close 4008 (the traveller holds the most sockets the server
 * allows), on a token the server refuses or that expired when no fresh one can be had, or on
 * `close()`.
 *
 * The token travels as `?access_token=` (a browser cannot set headers on a WebSocket; the server
 * keeps it out of its logs).
 */
export function watch(options: WatchOptions): Watch {
  const Socket = options.WebSocket ?? globalThis.WebSocket
  const firstMs = options.backoff?.firstMs ?? 500
  const maxMs = options.backoff?.maxMs ?? 15_000
  const versions = new Map<string, number>()
  let newest = options.since
  let socket: WebSocket | undefined
  let wake: (() => void) | undefined
  let stopped = false
  const stop = () => {
    stopped = true
    socket?.close(1000)
    wake?.()
  }
  options.signal?.addEventListener('abort', stop, { once: true })

  const deliver = (event: StreamEvent) => {
    const id = 'alert' in event ? event.alert.id : event.alertId
    if (newest === undefined || Date.parse(event.changedAt) > Date.parse(newest)) newest = event.changedAt
    if ((versions.get(id) ?? 0) >= event.version) return
    // Re-inserted so the map's order is the order of last change: the oldest is forgotten first.
    versions.delete(id)
    versions.set(id, event.version)
    if (versions.size > REMEMBERED_ALERTS) versions.delete(versions.keys().next().value as string)
    options.onEvent(event)
  }

  const run = async (): Promise<WatchEnd> => {
    const token = typeof options.token === 'string' ? () => options.token as string : options.token
    let current = await token('start')
    let failures = 0
    let freshTokenTried = false
    while (!stopped) {
      options.onStatus?.({ state: 'connecting', attempt: failures + 1 })
      const outcome = await connect(current)
      if (stopped) break
      if (outcome.greeted) {
        failures = 0
        freshTokenTried = false
      }
      if (outcome.code === TOO_MANY_SOCKETS)
        return {
          reason: 'too_many_sockets',
          message: `the traveller already holds the most streams the server allows (close 4008: ${outcome.why || 'too many sockets'})`,
        }
      if (outcome.code === TOKEN_EXPIRED) {
        if (typeof options.token === 'string')
          return {
            reason: 'token_expired',
            message: 'the token expired (close 4001) and no way to get a fresh one was given',
          }
        current = await token('expired')
        continue
      }
      if (!outcome.greeted && (await refusesToken(current))) {
        // One fresh token, if one can be had; refused again, there is no point in retrying.
        if (typeof options.token === 'string' || freshTokenTried)
          return { reason: 'unauthorized', message: 'the server refused the token (401)' }
        freshTokenTried = true
        current = await token('refused')
        continue
      }
      const delayMs = Math.round(Math.random() * Math.min(maxMs, firstMs * 2 ** failures++))
      options.onStatus?.({ state: 'waiting', delayMs, why: outcome.why })
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs)
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      wake = undefined
    }
    return { reason: 'closed' }
  }

  /** One connection, until it closes: its close code, and whether the server said hello. */
  const connect = (token: string) =>
    new Promise<{ greeted: boolean; code: number; why: string }>((resolve) => {
      const url = new URL('/v1/stream', options.baseUrl)
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
      if (newest) url.searchParams.set('since', newest)
      url.searchParams.set('access_token', token)
      let greeted = false
      const ws = new Socket(url)
      socket = ws
      ws.addEventListener('message', (message) => {
        let event: { type?: string }
        try {
          event = JSON.parse(String(message.data))
        } catch {
          return
        }
        if (event.type === 'hello') {
          greeted = true
          // A later reconnect must replay what happens from now on, even before any event.
          newest ??= new Date(Date.now() - CLOCK_MARGIN_MS).toISOString()
          options.onStatus?.({ state: 'open', since: newest })
          return
        }
        if (event.type?.startsWith('alert.')) deliver(event as StreamEvent)
      })
      let opened = false
      ws.addEventListener('open', () => {
        opened = true
      })
      ws.addEventListener('close', (event) => {
        socket = undefined
        resolve({ greeted, code: event.code, why: event.reason || `closed (${event.code})` })
      })
      // A connection that fails before opening (refused, or an upgrade answered without 101) is
      // reported as an error; Node's WebSocket then sends no close event. Once open, the close
      // event that follows carries the server's code.
      ws.addEventListener('error', () => {
        if (opened) return
        socket = undefined
        resolve({ greeted, code: 1006, why: `cannot connect to ${url.origin}` })
      })
    })

  /** Whether the server refuses `token` (a refused upgrade's status is hidden from WebSocket clients). */
  const refusesToken = async (token: string) => {
    try {
      // A plain GET of the stream is answered 426 past authentication, 401 before it.
      const response = await fetch(new URL('/v1/stream', options.baseUrl), {
        headers: { authorization: `Bearer ${token}` },
      })
      await response.body?.cancel()
      return response.status === 401
    } catch {
      return false
    }
  }

  const done = run().then((end) => {
    options.signal?.removeEventListener('abort', stop)
    stopped = true
    options.onEnd?.(end)
    return end
  })
  return { done, since: () => newest, close: stop }
}
