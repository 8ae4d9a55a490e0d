import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import WebSocket from 'ws'
import { userToken } from '../helpers/api.js'
import { confirmAddress } from '../helpers/confirm-address.js'
import { callApi } from '../helpers/remote-api.js'
import type { SmtpPeer } from '../helpers/smtp-peer.js'

/** An alert.created the client received: when, and which reading it was made from. */
export interface Receipt {
  alertId: string
  vehicleId: string
  priority: string
  /** data.observedAt of the alert (ms): the reading it was made from. */
  observedAt: number
  at: number
}

export interface Traveller {
  id: string
  token: string
  email: string
  vehicles: { id: string; name: string }[]
  stream: StreamView
}

/**
 * A traveller's live view of their alerts, built only from what their socket on /v1/stream
 * receives, as an app's would be: alert.created opens, alert.resolved and alert.expired close.
 * When the socket closes (an API killed, a refused upgrade), it reconnects to the next API with
 * `?since=` the start of the previous connection (less 2 s), as docs/api.md tells clients to.
 */
export class StreamView {
  /** The alerts this client believes open: id → priority. */
  readonly open = new Map<string, string>()
  /** The first receipt of each alert.created. */
  readonly receipts = new Map<string, Receipt>()
  reconnects = 0
  /** When the client had no socket: from a close to the next hello (`to` undefined: still none). */
  readonly gaps: { from: number; to: number | undefined }[] = []
  private socket: WebSocket | undefined
  /** When the last connection that got its hello began: the next one asks for what came since. */
  private lastHelloAt: number | undefined
  private closing = false

  constructor(
    private readonly bases: () => string[],
    private readonly token: string,
    private next: number,
  ) {}

  /** The first connection: resolves at its hello. The view makes the later ones itself. */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => this.dial(resolve, reject))
  }

  close(): void {
    this.closing = true
    this.socket?.terminate()
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN
  }

  private dial(onHello?: () => void, onFail?: (error: Error) => void) {
    const bases = this.bases()
    const base = bases[this.next++ % bases.length]
    const since = this.lastHelloAt === undefined ? '' : new Date(this.lastHelloAt - 2_000).toISOString()
    const socket = new WebSocket(`ws://${base}/v1/stream${since ? `?since=${encodeURIComponent(since)}` : ''}`, {
      headers: { authorization: `Bearer ${this.token}` },
    })
    this.socket = socket
    let hello = false
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as WireMessage
      if (message.type !== 'hello') return this.apply(message)
      hello = true
      this.lastHelloAt = Date.now()
      const gap = this.gaps.at(-1)
      if (gap && gap.to === undefined) gap.to = this.lastHelloAt
      onHello?.()
    })
    socket.on('error', () => undefined)
    socket.on('close', () => {
      if (!hello && onFail) return onFail(new Error(`could not open the stream on ${base}`))
      if (this.closing) return
      if (hello) this.gaps.push({ from: Date.now(), to: undefined })
      this.reconnects++
      setTimeout(() => this.closing || this.dial(), 250 + Math.random() * 750)
    })
  }

  private apply(message: WireMessage) {
    const alert = message.alert
    if (message.type === 'alert.created' && alert) {
      if (!alert.resolvedAt) this.open.set(alert.id, alert.priority)
      if (!this.receipts.has(alert.id)) {
        this.receipts.set(alert.id, {
          alertId: alert.id,
          vehicleId: String(alert.data?.vehicleId ?? ''),
          priority: alert.priority,
          observedAt: Date.parse(String(alert.data?.observedAt ?? '')),
          at: Date.now(),
        })
      }
    } else if (message.type === 'alert.updated' && alert) {
      if (alert.resolvedAt) this.open.delete(alert.id)
      else if (this.open.has(alert.id)) this.open.set(alert.id, alert.priority)
    } else if ((message.type === 'alert.resolved' || message.type === 'alert.expired') && message.alertId) {
      this.open.delete(message.alertId)
    }
  }
}

interface WireMessage {
  type: string
  alert?: AlertOnWire
  alertId?: string
}

interface AlertOnWire {
  id: string
  priority: string
  resolvedAt: string | null
  data?: Record<string, unknown>
}

/** Set-up calls are made before any fault: a few tries on the next API cover a slow start. */
async function setUp(bases: () => string[], token: string, method: 'POST' | 'PUT', path: string, body: unknown) {
  for (let attempt = 0; attempt < 10; attempt++) {
    const list = bases()
    const answer = await callApi(list[attempt % list.length] as string, token, method, path, body)
    if (answer.status === 200 || answer.status === 201) return answer.body
    await sleep(500)
  }
  throw new Error(`${method} ${path} did not succeed during set-up`)
}

/**
 * A traveller with `vehicles` vans and email from `high` to `email` (confirmed through the link
 * the SMTP peer received), with an open stream on the
 * `index`-th API (round-robin), tokens signed with the deployment's secret.
 */
export async function createTraveller(
  bases: () => string[],
  jwtSecret: string,
  smtp: SmtpPeer,
  index: number,
  vehicles: number,
): Promise<Traveller> {
  const id = randomUUID()
  const token = await userToken(id, { secret: jwtSecret, ttl: '6h' })
  const email = `traveller-${index + 1}-${id.slice(0, 8)}@example.org`
  await setUp(bases, token, 'PUT', '/v1/me/notification-settings', {
    email: { address: email, enabled: true, minPriority: 'high' },
    push: { enabled: false, minPriority: 'high' },
    quietHours: null,
    digest: { enabled: false, at: '08:00' },
    ai: { enabled: false },
  })
  // Alert emails go only to a confirmed address: its owner follows the link PAM sent it.
  await confirmAddress(
    async (method, url) => {
      const response = await fetch(`http://${bases()[index % bases().length]}${url}`, { method })
      return { statusCode: response.status, body: await response.text() }
    },
    smtp,
    email,
  )
  const vans = []
  for (let n = 1; n <= vehicles; n++) {
    const name = `Van ${n}`
    const body = { name, fuelCapacityL: 80, consumptionLPer100Km: 12.5, odometerKm: 52_000 }
    vans.push({ id: String((await setUp(bases, token, 'POST', '/v1/vehicles', body)).id), name })
  }
  const stream = new StreamView(bases, token, index)
  await stream.connect()
  return { id, token, email, vehicles: vans, stream }
}
