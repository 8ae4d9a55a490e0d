import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import { type Alert, type StreamEvent, watch } from '../../client/src/index.js'
import { buildApiApp } from '../../src/app/roles/api.js'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import { type AlertEvent, expireAlerts, markAlert } from '../../src/monitoring/alerts/alert-store.js'
import { ensureUser } from '../../src/travellers/users/user-repository.js'
import { listenLocally, userToken } from '../helpers/api.js'
import { eventually, type Harness, inBothModes, startHarness, testEnv } from '../helpers/harness.js'
import { freePort, spawnPam } from '../helpers/process.js'
import { clientView, evaluateCondition, openStream } from '../helpers/stream.js'

/** The id of the alert an evaluation opened. */
const createdId = (events: readonly AlertEvent[]) =>
  events.flatMap((event) => (event.type === 'alert.created' ? [event.alert.id] : []))[0] ?? ''

inBothModes('the live alert stream', (mode) => {
  let harness: Harness
  let producer: Producer
  let app: FastifyInstance
  let url: string
  let base: string

  before(async () => {
    harness = await startHarness(mode)
    producer = createProducer(harness.deps.backend, harness.deps.logger)
    app = await buildApiApp(harness.deps, producer)
    base = `http://${await listenLocally(app)}`
    url = `${base.replace('http:', 'ws:')}/v1/stream`
  })
  after(async () => {
    await app.close()
    await producer.close()
    await harness.close()
  })

  const user = async () => {
    const id = randomUUID()
    await ensureUser(harness.deps.db, id)
    return { id, token: await userToken(id) }
  }
  /** What a worker does: store the evaluation, then tell the API processes. */
  const evaluate = (userId: string, condition?: string, open = true) =>
    evaluateCondition(
      harness.deps.db,
      { bus: harness.deps.backend.bus, logger: harness.deps.logger },
      userId,
      condition,
      open,
    )
  const alertFor = async (userId: string, condition?: string) => {
    const { events, condition: evaluated } = await evaluate(userId, condition)
    return { id: createdId(events), condition: evaluated }
  }

  it('refuses the upgrade without a valid token', async () => {
    await assert.rejects(openStream(url), /upgrade refused: 401/)
    await assert.rejects(openStream(url, { authorization: 'Bearer nonsense' }), /upgrade refused: 401/)
  })

  it("says hello, then pushes the user's alerts, created and resolved, and no one else's", async () => {
    const alice = await user()
    const bob = await user()
    const aliceStream = await openStream(url, { authorization: `Bearer ${alice.token}` })
    const bobStream = await openStream(`${url}?access_token=${bob.token}`)
    try {
      assert.deepEqual(await aliceStream.next((m) => m.type === 'hello'), { type: 'hello' })
      await bobStream.next((m) => m.type === 'hello')
      const { id, condition } = await alertFor(alice.id)
      const created = await aliceStream.next((m) => m.type === 'alert.created')
      assert.equal((created.alert as { id: string }).id, id)
      assert.equal(created.version, (created.alert as { version: number }).version)
      const { events } = await evaluate(alice.id, condition, false)
      const resolved = events[0] as AlertEvent & { alertId: string }
      assert.deepEqual(await aliceStream.next((m) => m.type === 'alert.resolved'), {
        type: 'alert.resolved',
        alertId: id,
        version: resolved.version,
        changedAt: resolved.changedAt,
      })
      assert.ok(resolved.version > (created.version as number), 'a later change has a higher version')
      await sleep(200)
      assert.deepEqual(bobStream.messages, [{ type: 'hello' }], "bob's socket saw none of alice's alerts")
    } finally {
      aliceStream.close()
      bobStream.close()
    }
  })

  it('replays open alerts created after ?since=, so a reconnecting client misses nothing', async () => {
    const alice = await user()
    const before = new Date(Date.now() - 1_000).toISOString()
    const { id } = await alertFor(alice.id)
    const stream = await openStream(`${url}?since=${encodeURIComponent(before)}`, {
      authorization: `Bearer ${alice.token}`,
    })
    try {
      const replayed = await stream.next((m) => m.type === 'alert.created')
      assert.equal((replayed.alert as { id: string }).id, id)
      assert.equal(stream.messages[0]?.type, 'hello')
    } finally {
      stream.close()
    }
  })

  it("a client reconnecting with since ends with the server's state: what resolved, expired or was read meanwhile", async () => {
    const alice = await user()
    const auth = { authorization: `Bearer ${alice.token}` }
    const first = await openStream(url, auth)
    await first.next((m) => m.type === 'hello')
    const [kept, resolved, expiring] = [await alertFor(alice.id), await alertFor(alice.id), await alertFor(alice.id)]
    await first.next((m) => m.type === 'alert.created' && (m.alert as { id: string }).id === expiring.id)
    const held = first.messages.slice()
    first.close()

    // While the client is away: one resolves, one passes its expiry and is closed, one is read, one is made.
    await evaluate(alice.id, resolved.condition, false)
    await sql`update alerts set expires_at = now() - interval '1 second' where id = ${expiring.id}`.execute(
      harness.deps.db,
    )
    await expireAlerts(harness.deps.db)
    await markAlert(harness.deps.db, alice.id, kept.id, { read: true })
    const made = await alertFor(alice.id)

    const since = held.at(-1)?.changedAt as string
    const again = await openStream(`${url}?since=${encodeURIComponent(since)}`, auth)
    try {
      await again.next((m) => m.type === 'alert.created' && (m.alert as { id: string }).id === made.id)
      await again.next((m) => m.type === 'alert.expired' && m.alertId === expiring.id)
      const view = clientView([...held, ...again.messages])
      const open = await harness.deps.db
        .selectFrom('alerts')
        .select(['id', 'read_at'])
        .where('user_id', '=', alice.id)
        .where('resolved_at', 'is', null)
        .orderBy('id')
        .execute()
      assert.deepEqual([...view.keys()].sort(), open.map((row) => row.id).sort())
      assert.deepEqual([...view.keys()].sort(), [kept.id, made.id].sort())
      assert.notEqual(view.get(kept.id)?.readAt, null, 'the read on another device is replayed')
      const changes = again.messages
        .filter((m) => m.version !== undefined)
        .map((m) => `${m.alertId ?? (m.alert as { id: string }).id}@${m.version}`)
      assert.equal(new Set(changes).size, changes.length, 'no change sent twice')
    } finally {
      again.close()
    }
  })

  it('an app on the client package (list, then watch from the list time) ends with the server’s alerts', async () => {
    const alice = await user()
    const resolved = await alertFor(alice.id)
    await alertFor(alice.id)
    // Starting out as docs/api.md says: read the list, then stream from the server's time of that read.
    const list = await fetch(`${base}/v1/alerts?status=all`, { headers: { authorization: `Bearer ${alice.token}` } })
    const view = new Map<string, Alert>()
    for (const alert of ((await list.json()) as { items: Alert[] }).items) view.set(alert.id, alert)
    const events: StreamEvent[] = []
    const stream = watch({
      baseUrl: base,
      token: alice.token,
      since: new Date(list.headers.get('date') as string).toISOString(),
      onEvent: (event) => {
        events.push(event)
        // Merged by version with what the list gave: the replay repeats what the list already held.
        const held = view.get('alert' in event ? event.alert.id : event.alertId)
        if (held && held.version >= event.version) return
        if ('alert' in event) view.set(event.alert.id, event.alert)
        else if (held) view.set(held.id, { ...held, resolvedAt: event.changedAt, version: event.version })
      },
    })
    try {
      const made = await alertFor(alice.id)
      await evaluate(alice.id, resolved.condition, false)
      await eventually(
        async () => (view.has(made.id) && view.get(resolved.id)?.resolvedAt ? true : undefined),
        10_000,
        'the new alert and the resolution',
      )
      const open = await harness.deps.db
        .selectFrom('alerts')
        .select('id')
        .where('user_id', '=', alice.id)
        .where('resolved_at', 'is', null)
        .execute()
      const openInView = [...view.values()].filter((alert) => alert.resolvedAt === null).map((alert) => alert.id)
      assert.deepEqual(openInView.sort(), open.map((row) => row.id).sort())
      // The replay from 10 s before `since` repeats what the list held: the client dropped those.
      const changes = events.map((e) => `${'alert' in e ? e.alert.id : e.alertId}@${e.version}`)
      assert.equal(new Set(changes).size, changes.length, 'no change delivered twice')
    } finally {
      stream.close()
      await stream.done
    }
  })

  it('closes a socket that sends an oversized message', async () => {
    const alice = await user()
    const stream = await openStream(url, { authorization: `Bearer ${alice.token}` })
    const closed = new Promise<number>((resolve) => stream.socket.on('close', (code) => resolve(code)))
    stream.socket.send('x'.repeat(64 * 1024))
    assert.equal(await closed, 1009)
  })

  it('reaches a socket held by another API process, whose logs never hold the token', async () => {
    const port = await freePort()
    const other = spawnPam(
      ['api'],
      testEnv(mode, harness.databaseUrl, {
        PORT: String(port),
        HOST: '127.0.0.1',
        REDIS_PREFIX: harness.config.REDIS_PREFIX,
        MIGRATE_ON_START: 'false',
        LOG_LEVEL: 'info',
      }),
    )
    try {
      const alice = await user()
      let stream: Awaited<ReturnType<typeof openStream>> | undefined
      for (let i = 0; i < 100 && !stream; i++) {
        stream = await openStream(`ws://127.0.0.1:${port}/v1/stream?access_token=${alice.token}`).catch(async () => {
          await sleep(200)
          return undefined
        })
      }
      assert.ok(stream, `the second API process answers: ${other.output()}`)
      await stream.next((m) => m.type === 'hello')
      // The bus is at-most-once and the other process subscribes as it starts: publish until one lands.
      const sent = new Set<string>()
      const created = await eventually(
        async () => {
          sent.add((await alertFor(alice.id)).id)
          return stream?.next((m) => m.type === 'alert.created', 500).catch(() => undefined)
        },
        15_000,
        'an alert on the other process',
      )
      assert.ok(sent.has((created.alert as { id: string }).id))
      stream.close()
      assert.match(other.output(), /\/v1\/stream/, 'the request was logged')
      assert.ok(!other.output().includes(alice.token), 'the token in the URL was not')
    } finally {
      assert.equal(await other.stop('SIGTERM'), 0, other.output())
    }
  })
})
