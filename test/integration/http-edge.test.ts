import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import { listenLocally, userToken } from '../helpers/api.js'
import { buildAppWithSettings } from '../helpers/app-with-settings.js'
import { type Harness, startHarness } from '../helpers/harness.js'

const LIMIT = 3

// The HTTP edge (timeouts, client addresses) is the same in both modes.
describe('the HTTP edge: slow clients are cut off, proxies are trusted as configured', () => {
  let harness: Harness
  let producer: Producer
  let app: FastifyInstance
  let base: string

  before(async () => {
    harness = await startHarness('postgres', {
      TRUST_PROXY: '1',
      REQUEST_TIMEOUT_MS: '1000',
      RATE_LIMIT_PER_MINUTE: String(LIMIT),
    })
    producer = createProducer(harness.deps.backend, harness.deps.logger)
    app = await buildAppWithSettings(harness, producer)
    base = await listenLocally(app)
  })
  after(async () => {
    await app.close()
    await producer.close()
    await harness.close()
  })

  it('cuts off a body trickled in byte by byte once REQUEST_TIMEOUT_MS has passed, with a 408', async () => {
    const [host, port] = base.split(':')
    const socket = connect(Number(port), host)
    let answer = ''
    socket.on('data', (chunk) => {
      answer += chunk
    })
    socket.on('error', () => undefined)
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())))
    const started = performance.now()
    const token = await userToken()
    socket.write(
      `POST /v1/vehicles HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`,
    )
    const trickle = setInterval(() => socket.writable && socket.write('"'), 200)
    try {
      const ended = await closed
      // Generous: the timeout is 1 s, checked every 250 ms; before, the connection stayed open.
      assert.ok(ended - started < 15_000, `${ended - started} ms`)
      assert.match(answer, /^HTTP\/1\.1 408/)
      assert.equal(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error, 'request_timeout')
    } finally {
      clearInterval(trickle)
      socket.destroy()
    }
  })

  it('takes the client address from X-Forwarded-For with TRUST_PROXY=1 (each client limited on its own)', async () => {
    const me = (client: string) => app.inject({ url: '/v1/me', headers: { 'x-forwarded-for': client } })
    for (let i = 0; i < LIMIT; i++) assert.equal((await me('203.0.113.1')).statusCode, 401)
    assert.equal((await me('203.0.113.1')).statusCode, 429)
    assert.equal((await me('203.0.113.2')).statusCode, 401, 'another client behind the same proxy')
  })
})
