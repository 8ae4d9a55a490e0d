import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { userToken } from './api.js'
import { eventually } from './harness.js'
import { openStream, type StreamClient } from './stream.js'

export interface RemoteResponse {
  /** 0 when no answer came (refused, reset, timed out). */
  status: number
  // biome-ignore lint/suspicious/noExplicitAny: tests read JSON bodies field by field and assert on them
  body: any
}

/** One request of a user (`token`) to a PAM process listening on `base` (host:port), over real HTTP. */
export async function callApi(
  base: string,
  token: string,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<RemoteResponse> {
  try {
    const response = await fetch(`http://${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    })
    const text = await response.text()
    return { status: response.status, body: text ? JSON.parse(text) : undefined }
  } catch {
    return { status: 0, body: undefined }
  }
}

/** A user of a PAM process listening on `base` (host:port), over real HTTP. */
export async function remoteTraveller(base: string) {
  const id = randomUUID()
  const token = await userToken(id)
  return {
    id,
    call: (method: 'GET' | 'POST', path: string, body?: unknown) => callApi(base, token, method, path, body),
    /** Opens the user's alert stream and waits for its hello. */
    async stream(): Promise<StreamClient> {
      const stream = await openStream(`ws://${base}/v1/stream`, { authorization: `Bearer ${token}` })
      await stream.next((m) => m.type === 'hello')
      return stream
    },
  }
}

/** Waits until `path` answers `status` (e.g. /ready 200); returns its body. */
export function answers(base: string, path: string, status: number, timeoutMs = 60_000) {
  return eventually(
    async () => {
      try {
        const response = await fetch(`http://${base}${path}`, { signal: AbortSignal.timeout(5_000) })
        const text = await response.text()
        return response.status === status ? { body: text ? JSON.parse(text) : undefined } : undefined
      } catch {
        return undefined
      }
    },
    timeoutMs,
    `${path} to answer ${status}`,
  )
}

export type RemoteTraveller = Awaited<ReturnType<typeof remoteTraveller>>

/**
 * What a traveller sees of one fuel alert's life: a 15 % reading opens `fuel_low` on their socket
 * and in GET /v1/alerts, a 90 % one resolves it and empties the list.
 */
export async function fuelAlertRoundTrip(
  traveller: RemoteTraveller,
  stream: StreamClient,
  vehicleId: string,
  timeoutMs: number,
): Promise<void> {
  const low = await traveller.call('POST', `/v1/vehicles/${vehicleId}/fuel-readings`, { percent: 15 })
  assert.equal(low.status, 201, JSON.stringify(low.body))
  const created = await stream.next((m) => m.type === 'alert.created', timeoutMs)
  assert.equal((created.alert as { kind: string }).kind, 'fuel_low')
  const listed = await traveller.call('GET', '/v1/alerts')
  assert.deepEqual(
    listed.body.items.map((a: { kind: string }) => a.kind),
    ['fuel_low'],
  )
  const full = await traveller.call('POST', `/v1/vehicles/${vehicleId}/fuel-readings`, { percent: 90 })
  assert.equal(full.status, 201)
  await stream.next((m) => m.type === 'alert.resolved', timeoutMs)
  assert.deepEqual((await traveller.call('GET', '/v1/alerts')).body.items, [])
}
