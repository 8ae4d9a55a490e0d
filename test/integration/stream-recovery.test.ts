import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { buildApiApp } from '../../src/app/roles/api.js'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import type { AlertEvent } from '../../src/monitoring/alerts/alert-store.js'
import { ensureUser } from '../../src/travellers/users/user-repository.js'
import { listenLocally, userToken } from '../helpers/api.js'
import { databaseOutage } from '../helpers/database-outage.js'
import { eventually, type Harness, inBothModes, startHarness } from '../helpers/harness.js'
import { type PrivateRedis, privateRedis } from '../helpers/private-services.js'
import { evaluateCondition, openStream, type StreamClient } from '../helpers/stream.js'

/** What an event is about, and which change: `alertId@version`. */
const changeOf = (message: Record<string, unknown>) =>
  `${(message.alert as { id?: string } | undefined)?.id ?? message.alertId}@${message.version}`
const changesOf = (events: readonly AlertEvent[]) =>
  events.map((event) => changeOf(event as unknown as Record<string, unknown>))

/**
 * The stream's promise with the bus at fault: a socket held open gets every change, once, whatever
 * the bus lost — its connection down (PostgreSQL restarting in Postgres-only mode, Redis in Redis
 * mode), or a change never published at all.
 */
inBothModes('the live stream when the bus loses changes', (mode) => {
  let redis: PrivateRedis | undefined
  let harness: Harness
  let producer: Producer
  let app: FastifyInstance
  let url: string

  before(async () => {
    // Redis mode's bus is a Redis of this file's own, which it may kill.
    if (mode === 'redis') redis = await privateRedis()
    harness = await startHarness(mode, redis ? { REDIS_URL: redis.url } : {})
    producer = createProducer(harness.deps.backend, harness.deps.logger)
    app = await buildApiApp(harness.deps, producer)
    url = `ws://${await listenLocally(app)}/v1/stream`
  })
  after(async () => {
    await app?.close()
    await producer?.close()
    await harness?.close()
    await redis?.stop()
  })

  const traveller = async () => {
    const id = randomUUID()
    await ensureUser(harness.deps.db, id)
    const stream = await openStream(url, { authorization: `Bearer ${await userToken(id)}` })
    await stream.next((m) => m.type === 'hello')
    return { id, stream }
  }
  const published = () => ({ bus: harness.deps.backend.bus, logger: harness.deps.logger })
  /** Waits until the socket holds each of `changes`, then a while longer, and says how often each came. */
  const received = async (stream: StreamClient, changes: readonly string[], what: string) => {
    const counts = () => changes.map((change) => stream.messages.filter((m) => changeOf(m) === change).length)
    await eventually(async () => (counts().every((n) => n > 0) ? true : undefined), 20_000, what)
    // Long enough for another catch-up to have run: it must not send them again.
    await sleep(6_000)
    return counts()
  }

  it('a change whose publish was lost reaches the open socket within seconds, once', async () => {
    const { id, stream } = await traveller()
    try {
      // Stored, and its worker died before publishing it.
      const { events } = await evaluateCondition(harness.deps.db, undefined, id)
      assert.deepEqual(await received(stream, changesOf(events), 'the unpublished alert'), [1])
    } finally {
      stream.close()
    }
  })

  it('a socket held while the bus was down gets every change made meanwhile and right after, once each', async () => {
    const { id, stream } = await traveller()
    let closed = false
    stream.socket.on('close', () => {
      closed = true
    })
    try {
      const { events: before, condition } = await evaluateCondition(harness.deps.db, published(), id)
      await stream.next((m) => m.type === 'alert.created')
      const changes: AlertEvent[] = []
      if (redis) {
        // Redis restarts: what is published meanwhile goes nowhere.
        await redis.kill()
        changes.push(...(await evaluateCondition(harness.deps.db, published(), id, condition, false)).events)
        changes.push(...(await evaluateCondition(harness.deps.db, published(), id)).events)
        await redis.start()
      } else {
        // PostgreSQL restarts: the bus's connection ends, and the changes come as soon as the
        // database is back, before the bus listens again.
        const outage = await databaseOutage(harness.databaseUrl)
        await sleep(4_500)
        await outage.restore()
        const evaluated = () => evaluateCondition(harness.deps.db, published(), id, condition, false)
        changes.push(...(await eventually(() => evaluated().catch(() => undefined), 15_000, 'the database')).events)
        changes.push(...(await evaluateCondition(harness.deps.db, published(), id)).events)
      }
      assert.equal(changes.length, 2, 'one alert resolved, one made')
      assert.deepEqual(await received(stream, changesOf(changes), 'the changes made around the outage'), [1, 1])
      assert.equal(
        stream.messages.filter((m) => changeOf(m) === changesOf(before)[0]).length,
        1,
        'the first alert once',
      )
      assert.equal(closed, false, 'the socket stayed open: the client did nothing')
    } finally {
      stream.close()
    }
  })
})
