import { randomUUID } from 'node:crypto'
import { mintDevToken } from '../src/http/auth/dev-token.js'
import { openStream, type StreamClient } from '../test/helpers/stream.js'

export const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN

/**
 * A new traveller with one vehicle and an open socket on the API at `port` posts `readings` fuel
 * readings, alternating `lowPercent` and 90 %, each timed from the POST until its alert.created /
 * alert.resolved arrives on the socket. `settings` (parts of the notification settings) are saved
 * first, then `prepare` runs (a bench confirms its traveller's address). Returns the latencies,
 * sorted, and the still open stream.
 */
export async function timeWritesToSocket(
  port: number,
  secret: string,
  readings: number,
  lowPercent: number,
  settings?: Record<string, unknown>,
  prepare?: (userId: string) => Promise<void>,
): Promise<{ userId: string; latencies: number[]; stream: StreamClient }> {
  const userId = randomUUID()
  const token = await mintDevToken({ secret, userId, ttl: '1h', audience: 'authenticated' })
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  if (settings) {
    const url = `http://127.0.0.1:${port}/v1/me/notification-settings`
    const current = (await (await fetch(url, { headers })).json()) as Record<string, unknown>
    const saved = await fetch(url, { method: 'PUT', headers, body: JSON.stringify({ ...current, ...settings }) })
    if (!saved.ok) throw new Error(`notification settings: ${saved.status} ${await saved.text()}`)
  }
  await prepare?.(userId)
  const vehicle = (await (
    await fetch(`http://127.0.0.1:${port}/v1/vehicles`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'Van', fuelCapacityL: 80, consumptionLPer100Km: 12.5 }),
    })
  ).json()) as { id: string }
  const stream = await openStream(`ws://127.0.0.1:${port}/v1/stream`, { authorization: `Bearer ${token}` })
  await stream.next((m) => m.type === 'hello')
  const latencies: number[] = []
  for (let i = 0; i < readings; i++) {
    const low = i % 2 === 0
    const seen = stream.messages.length
    const started = performance.now()
    await fetch(`http://127.0.0.1:${port}/v1/vehicles/${vehicle.id}/fuel-readings`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ percent: low ? lowPercent : 90 }),
    })
    await stream.next(
      (m) => stream.messages.indexOf(m) >= seen && m.type === (low ? 'alert.created' : 'alert.resolved'),
      10_000,
    )
    latencies.push(performance.now() - started)
  }
  latencies.sort((a, b) => a - b)
  return { userId, latencies, stream }
}
