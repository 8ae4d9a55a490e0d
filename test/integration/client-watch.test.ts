import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { type StreamEvent, type WatchEnd, watch } from '../../client/src/index.js'
import { buildApiApp } from '../../src/app/roles/api.js'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import { ensureUser } from '../../src/travellers/users/user-repository.js'
import { userToken } from '../helpers/api.js'
import { eventually, type Harness, inBothModes, startHarness } from '../helpers/harness.js'
import { freePort } from '../helpers/process.js'
import { evaluateCondition } from '../helpers/stream.js'

/** `alertId@version` of an event: the change it carries. */
const changeOf = (event: StreamEvent) => `${'alert' in event ? event.alert.id : event.alertId}@${event.version}`

/**
 * The client package's `watch` against a real API: every change once, across a server restart
 * (reconnect with ?since=, whose replay overlaps what was seen), a token that expires (4001), too
 * many sockets (4008) and a refused token.
 */
inBothModes('the client package: watch()', (mode) => {
  let harness: Harness
  let producer: Producer
  let app: FastifyInstance | undefined
  let port: number
  let baseUrl: string

  const listen = async () => {
    app = await buildApiApp(harness.deps, producer)
    await app.listen({ host: '127.0.0.1', port })
  }

  before(async () => {
    harness = await startHarness(mode, { STREAM_MAX_SOCKETS_PER_USER: '1' })
    producer = createProducer(harness.deps.backend, harness.deps.logger)
    port = await freePort()
    baseUrl = `http://127.0.0.1:${port}`
    await listen()
  })
  after(async () => {
    await app?.close()
    await producer?.close()
    await harness?.close()
  })

  const bus = () => ({ bus: harness.deps.backend.bus, logger: harness.deps.logger })
  const traveller = async () => {
    const id = randomUUID()
    await ensureUser(harness.deps.db, id)
    return id
  }
  /** Watches `id`'s alerts, collecting events and the states it goes through. */
  const watching = (token: Parameters<typeof watch>[0]['token']) => {
    const events: StreamEvent[] = []
    const states: string[] = []
    const controller = new AbortController()
    const handle = watch({
      baseUrl,
      token,
      onEvent: (event) => events.push(event),
      onStatus: (status) => states.push(status.state),
      signal: controller.signal,
      backoff: { firstMs: 50, maxMs: 500 },
    })
    const opened = (times: number) =>
      eventually(async () => (states.filter((s) => s === 'open').length >= times ? true : undefined), 20_000, 'open')
    return { events, states, handle, stop: () => controller.abort(), opened }
  }

  it('delivers every change once across a server restart, replaying what happened while it was down', async () => {
    const id = await traveller()
    const token = await userToken(id)
    const client = watching(token)
    try {
      await client.opened(1)
      const first = await evaluateCondition(harness.deps.db, bus(), id)
      await eventually(async () => (client.events.length === 1 ? true : undefined), 10_000, 'the first alert')

      // The server goes away (its sockets closed), a change is made meanwhile, and it comes back.
      await app?.close()
      app = undefined
      const second = await evaluateCondition(harness.deps.db, bus(), id)
      const resolved = await evaluateCondition(harness.deps.db, bus(), id, first.condition, false)
      await listen()

      const expected = [...first.events, ...second.events, ...resolved.events].map((e) =>
        changeOf(e as unknown as StreamEvent),
      )
      await eventually(async () => (client.events.length >= 3 ? true : undefined), 20_000, 'the replay')
      await client.opened(2)
      // The replay reads from 10 s before `since`, so it repeats the first alert: dropped.
      assert.deepEqual(client.events.map(changeOf).sort(), [...expected].sort())
      assert.deepEqual(
        client.events.map((e) => e.type),
        ['alert.created', 'alert.created', 'alert.resolved'],
      )
    } finally {
      client.stop()
      assert.deepEqual(await client.handle.done, { reason: 'closed' })
    }
  })

  it('asks for a fresh token when the server closes with 4001, and goes on', async () => {
    const id = await traveller()
    const asked: string[] = []
    const client = watching(async (reason) => {
      asked.push(reason)
      return userToken(id, { ttl: asked.length === 1 ? '3s' : '1h' })
    })
    try {
      await client.opened(1)
      await eventually(async () => (asked.includes('expired') ? true : undefined), 20_000, 'a fresh token')
      await client.opened(2)
      const { events } = await evaluateCondition(harness.deps.db, bus(), id)
      await eventually(async () => (client.events.length === 1 ? true : undefined), 10_000, 'the alert')
      assert.equal(changeOf(client.events[0] as StreamEvent), changeOf(events[0] as unknown as StreamEvent))
    } finally {
      client.stop()
      await client.handle.done
    }
  })

  it('gives up, saying why, when the traveller already holds the most sockets (4008)', async () => {
    const id = await traveller()
    const token = await userToken(id)
    const holder = watching(token)
    try {
      await holder.opened(1)
      let ended: WatchEnd | undefined
      const second = watch({ baseUrl, token, onEvent: () => undefined, onEnd: (end) => (ended = end) })
      const end = await second.done
      assert.equal(end.reason, 'too_many_sockets')
      assert.match('message' in end ? end.message : '', /4008/)
      assert.deepEqual(ended, end)
    } finally {
      holder.stop()
      await holder.handle.done
    }
  })

  it('gives up on a token the server refuses, after asking once for another', async () => {
    const asked: string[] = []
    const end = await watch({
      baseUrl,
      token: (reason) => {
        asked.push(reason)
        return userToken(randomUUID(), { secret: 'not-the-server-secret-0123456789abcdef' })
      },
      onEvent: () => assert.fail('no event for a refused token'),
    }).done
    assert.equal(end.reason, 'unauthorized')
    assert.deepEqual(asked, ['start', 'refused'])
  })
})
