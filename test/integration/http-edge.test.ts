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
/** The app as src/app/roles/api.ts builds it from `env`, listening on loopback. */
async function startEdge(env: Record<string, string>) {
  const harness: Harness = await startHarness('postgres', env)
  const producer: Producer = createProducer(harness.deps.backend, harness.deps.logger)
  const app: FastifyInstance = await buildAppWithSettings(harness, producer)
  const base = await listenLocally(app)
  return {
    app,
    base,
    async close() {
      await app.close()
      await producer.close()
      await harness.close()
    },
  }
}

describe('the HTTP edge: slow clients are cut off, proxies are trusted as configured', () => {
  let edge: Awaited<ReturnType<typeof startEdge>>
  let app: FastifyInstance
  let base: string

  before(async () => {
    edge = await startEdge({ TRUST_PROXY: '1', REQUEST_TIMEOUT_MS: '1000', RATE_LIMIT_PER_MINUTE: String(LIMIT) })
    ;({ app, base } = edge)
  })
  after(() => edge.close())

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

describe('the HTTP edge: connections per client address are capped', () => {
  const CAP = 5
  let edge: Awaited<ReturnType<typeof startEdge>>
  let base: string

  before(async () => {
    edge = await startEdge({ MAX_CONNECTIONS_PER_ADDRESS: String(CAP) })
    base = edge.base
  })
  after(() => edge.close())

  /** An idle connection, and what it is sent until it closes. */
  function idle() {
    const [host, port] = base.split(':')
    const socket = connect(Number(port), host)
    const state = { answer: '', closed: false }
    socket.on('data', (chunk) => {
      state.answer += chunk
    })
    socket.on('error', () => undefined)
    const opened = new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    const closed = new Promise<void>((resolve) =>
      socket.once('close', () => {
        state.closed = true
        resolve()
      }),
    )
    return { socket, state, opened, closed }
  }

  it('answers 429 and closes the connection past the cap from one address; a freed place is taken again', async () => {
    const held = Array.from({ length: CAP }, idle)
    try {
      await Promise.all(held.map((connection) => connection.opened))
      const extra = idle()
      await Promise.race([extra.closed, new Promise((resolve) => setTimeout(resolve, 10_000))])
      extra.socket.destroy()
      assert.match(extra.state.answer, /^HTTP\/1\.1 429/)
      assert.equal(
        JSON.parse(extra.state.answer.slice(extra.state.answer.indexOf('\r\n\r\n') + 4)).error,
        'rate_limited',
      )
      // The held ones still serve.
      const first = held[0] as ReturnType<typeof idle>
      first.socket.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
      await first.closed
      assert.match(first.state.answer, /^HTTP\/1\.1 200/)
      // Its place is free again (the server counts the close once it sees it).
      let again: ReturnType<typeof idle> | undefined
      for (let attempt = 0; attempt < 50; attempt++) {
        again = idle()
        await again.opened
        await new Promise((resolve) => setTimeout(resolve, 100))
        if (!again.state.closed) break
        again = undefined
      }
      assert.ok(again, 'a new connection is held once one closed')
      again.socket.destroy()
      assert.ok(held.slice(1).every((connection) => !connection.state.closed))
    } finally {
      for (const connection of held) connection.socket.destroy()
    }
  })
})
