import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildApiApp } from '../../src/app/roles/api.js'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import { createLogger } from '../../src/platform/logger.js'
import { userToken } from '../helpers/api.js'
import { type Harness, startHarness } from '../helpers/harness.js'

describe('request logging', () => {
  let harness: Harness
  let producer: Producer
  let app: FastifyInstance
  const lines: Array<Record<string, unknown>> = []
  before(async () => {
    harness = await startHarness('postgres')
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line))
        done()
      },
    })
    producer = createProducer(harness.deps.backend, harness.deps.logger)
    app = await buildApiApp(
      { ...harness.deps, logger: createLogger({ level: 'info', role: 'api', destination: sink }) },
      producer,
    )
  })
  after(async () => {
    await app.close()
    await producer.close()
    await harness.close()
  })

  it('writes one line per request, naming method, URL, status and time, never the token', async () => {
    const token = await userToken()
    for (const url of ['/health', '/v1/me', `/v1/stream?access_token=${token}`]) {
      const response = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })
      const id = response.headers['x-request-id']
      const logged = lines.filter((line) => line.reqId === id)
      assert.equal(logged.length, 1, JSON.stringify(logged))
      assert.match(String(logged[0]?.msg), new RegExp(`^GET /\\S+ ${response.statusCode} \\d+ ms$`))
    }
    assert.ok(!JSON.stringify(lines).includes(token), 'a token reached the log')
  })

  it("names the user on an authenticated request's line, and no user on an anonymous one", async () => {
    const userId = randomUUID()
    const token = await userToken(userId)
    const authenticated = await app.inject({
      method: 'GET',
      url: '/v1/me',
      headers: { authorization: `Bearer ${token}` },
    })
    assert.equal(authenticated.statusCode, 200)
    const [line] = lines.filter((entry) => entry.reqId === authenticated.headers['x-request-id'])
    assert.equal(line?.userId, userId)

    const anonymous = await app.inject({ method: 'GET', url: '/v1/me' })
    assert.equal(anonymous.statusCode, 401)
    const [refused] = lines.filter((entry) => entry.reqId === anonymous.headers['x-request-id'])
    assert.ok(refused, 'the refused request is logged')
    assert.equal(refused.userId, undefined)
  })
})
