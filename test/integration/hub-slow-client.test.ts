import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { after, before, it } from 'node:test'
import { pino } from 'pino'
import WebSocket, { WebSocketServer } from 'ws'
import { createHub } from '../../src/http/stream/hub.js'
import type { AlertEvent } from '../../src/monitoring/alerts/alert-store.js'

// The hub alone over a real loopback WebSocket: no database, Redis or mode involved.
let server: WebSocketServer
let port: number

before(async () => {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((resolve) => server.once('listening', resolve))
  port = (server.address() as { port: number }).port
})
after(() => new Promise((resolve) => server.close(resolve)))

it('logs a slow client that is cut off once, not on every event until its close completes', async () => {
  const lines: string[] = []
  const logger = pino(
    { level: 'warn' },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        done()
      },
    }),
  )
  const hub = createHub({
    logger,
    maxBufferedBytes: 64 * 1024,
    pingIntervalMs: 60_000,
    maxSocketsPerUser: 10,
    maxClientMessagesPerMinute: 30,
  })
  const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve))
  const client = new WebSocket(`ws://127.0.0.1:${port}`)
  // The server cuts this client off: its side of the connection just ends.
  client.on('error', () => undefined)
  const [socket] = await Promise.all([accepted, new Promise((resolve) => client.once('open', resolve))])
  await hub.attach('user-1', socket as never, () => [])
  const closed = new Promise((resolve) => socket.once('close', resolve))

  const event = (i: number): AlertEvent =>
    ({ type: 'alert.resolved', userId: 'user-1', alertId: `${i}-${'x'.repeat(16 * 1024)}` }) as AlertEvent
  // One synchronous burst: far more than the limit is queued before the socket can drain.
  for (let i = 0; i < 300; i++) hub.deliver(event(i))
  await closed
  for (let i = 0; i < 10; i++) hub.deliver(event(i))

  const cut = lines.filter((line) => line.includes('fell too far behind'))
  assert.equal(cut.length, 1, `${cut.length} lines`)
  hub.close()
  client.terminate()
})
