import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'
import type WebSocket from 'ws'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import { listenLocally, userToken } from '../helpers/api.js'
import { buildAppWithSettings } from '../helpers/app-with-settings.js'
import { type Harness, startHarness } from '../helpers/harness.js'
import { openStream } from '../helpers/stream.js'

const closeOf = (socket: WebSocket) =>
  new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  )

// Sockets are held and limited per API process, the same in both modes.
describe('alert stream limits: sockets per user, token expiry, client messages, oversized frames', () => {
  let harness: Harness
  let producer: Producer
  let app: FastifyInstance
  let url: string
  const lines: string[] = []

  before(async () => {
    harness = await startHarness('postgres', { STREAM_MAX_SOCKETS_PER_USER: '2' })
    producer = createProducer(harness.deps.backend, harness.deps.logger)
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk))
          done()
        },
      }),
    )
    app = await buildAppWithSettings(harness, producer, { logger })
    url = `ws://${await listenLocally(app)}/v1/stream`
  })
  after(async () => {
    await app.close()
    await producer.close()
    await harness.close()
  })

  const open = async (token: string) => {
    const stream = await openStream(url, { authorization: `Bearer ${token}` })
    await stream.next((m) => m.type === 'hello')
    return stream
  }

  it('closes a socket beyond STREAM_MAX_SOCKETS_PER_USER with 4008; other users are not affected', async () => {
    const token = await userToken()
    const first = await open(token)
    const second = await open(token)
    const third = await openStream(url, { authorization: `Bearer ${token}` })
    const closed = await closeOf(third.socket)
    assert.equal(closed.code, 4008)
    const someoneElse = await open(await userToken())
    for (const stream of [first, second, someoneElse]) stream.close()
    await closeOf(second.socket)
    // A freed slot can be taken again.
    const again = await open(token)
    again.close()
  })

  it('closes a socket with 4001 when its token expires', async () => {
    const token = await userToken(randomUUID(), { ttl: '2s' })
    const stream = await open(token)
    const closed = await closeOf(stream.socket)
    assert.equal(closed.code, 4001)
  })

  it('closes a socket that sends too many messages with 1008', async () => {
    const stream = await open(await userToken())
    const closed = closeOf(stream.socket)
    for (let i = 0; i < 40; i++) stream.socket.send('ping')
    assert.equal((await closed).code, 1008)
  })

  it('closes a socket that sends an oversized frame with 1009, logging one line without a stack', async () => {
    const stream = await open(await userToken())
    const closed = closeOf(stream.socket)
    stream.socket.send('x'.repeat(10_000))
    assert.equal((await closed).code, 1009)
    const logged = lines.filter((line) => /Max payload size exceeded/i.test(line))
    assert.ok(logged.length >= 1, 'the oversized frame is logged')
    assert.ok(
      logged.every((line) => !line.includes('"stack"') && JSON.parse(line).level < 50),
      logged.join('\n'),
    )
  })
})
