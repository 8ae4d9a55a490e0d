import { randomUUID } from 'node:crypto'
import WebSocket from 'ws'
import type { AlertDraft } from '../../src/monitoring/alerts/alert-draft.js'
import {
  type AlertEvent,
  announceAlertEvents,
  appliedEvents,
  applyEvaluation,
} from '../../src/monitoring/alerts/alert-store.js'
import type { Bus } from '../../src/platform/backend/backend.js'
import type { Db } from '../../src/platform/db/database.js'
import type { Logger } from '../../src/platform/logger.js'

export interface StreamClient {
  messages: Record<string, unknown>[]
  socket: WebSocket
  /** Resolves with the first message (from now on, or already received) that `match` accepts. */
  next(match: (message: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>
  close(): void
}

/** Opens /v1/stream; rejects with the HTTP status when the upgrade is refused. */
export function openStream(url: string, headers: Record<string, string> = {}): Promise<StreamClient> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers })
    const messages: Record<string, unknown>[] = []
    const waiters: { match: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }[] =
      []
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as Record<string, unknown>
      messages.push(message)
      for (const waiter of [...waiters]) {
        if (waiter.match(message)) {
          waiters.splice(waiters.indexOf(waiter), 1)
          waiter.resolve(message)
        }
      }
    })
    socket.on('unexpected-response', (_request, response) =>
      reject(new Error(`upgrade refused: ${response.statusCode}`)),
    )
    socket.on('error', reject)
    socket.on('open', () =>
      resolve({
        messages,
        socket,
        next(match, timeoutMs = 5_000) {
          const seen = messages.find(match)
          if (seen) return Promise.resolve(seen)
          return new Promise((done, fail) => {
            const timer = setTimeout(() => fail(new Error(`no matching message within ${timeoutMs} ms`)), timeoutMs)
            waiters.push({
              match,
              resolve: (message) => {
                clearTimeout(timer)
                done(message)
              },
            })
          })
        },
        close: () => socket.close(),
      }),
    )
  })
}

/** A medium fuel alert's draft for `condition`. */
export const fuelDraft = (condition: string): AlertDraft => ({
  kind: 'fuel_low',
  priority: 'medium',
  condition,
  variant: 'medium',
  title: 'Fuel low',
  body: 'Fuel at 15 %',
  data: { threshold: 20, observedAt: new Date().toISOString(), ruleVersion: 1 },
})

/**
 * What a worker does: stores the evaluation of one condition (an alert open for it, or none:
 * `open: false` resolves it), then tells the API processes on `bus` — unless there is none (a
 * worker that died before publishing) or it cannot take them (logged, as workers do).
 */
export async function evaluateCondition(
  db: Db,
  bus: { bus: Bus; logger: Logger } | undefined,
  userId: string,
  condition = `fuel:${randomUUID()}`,
  open = true,
): Promise<{ events: AlertEvent[]; condition: string }> {
  const applied = await applyEvaluation(db, userId, {
    conditions: [condition],
    drafts: open ? [fuelDraft(condition)] : [],
  })
  const events = appliedEvents(userId, applied)
  if (bus) await announceAlertEvents(bus.bus, events, bus.logger, 'test alerts stored')
  return { events, condition }
}

/** The open alerts a client holds after applying `messages` (stream events) in order, by id. */
export function clientView(messages: readonly Record<string, unknown>[]): Map<string, Record<string, unknown>> {
  const view = new Map<string, Record<string, unknown>>()
  const versions = new Map<string, number>()
  for (const message of messages) {
    const alert = message.alert as Record<string, unknown> | undefined
    const id = (alert?.id ?? message.alertId) as string | undefined
    if (!id) continue
    const version = message.version as number
    if ((versions.get(id) ?? 0) >= version) continue
    versions.set(id, version)
    const open = alert && alert.resolvedAt === null && alert.dismissedAt === null
    if (open) view.set(id, alert)
    else view.delete(id)
  }
  return view
}
