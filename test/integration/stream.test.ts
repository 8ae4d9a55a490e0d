import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import type { AlertDraft } from '../../src/alerts/alert-draft.js'
import { appliedEvents, applyEvaluation, publishAlertEvents } from '../../src/alerts/alert-store.js'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import { buildApiApp } from '../../src/roles/api.js'
import { ensureUser } from '../../src/users/user-repository.js'
import { listenLocally, userToken } from '../helpers/api.js'
import { eventually, type Harness, inBothModes, startHarness, testEnv } from '../helpers/harness.js'
import { freePort, spawnPam } from '../helpers/process.js'
import { openStream } from '../helpers/stream.js'

const draft = (condition: string): AlertDraft => ({
  kind: 'fuel_low',
  priority: 'medium',
  condition,
  variant: 'medium',
  title: 'Fuel low',
  body: 'Fuel at 15 %',
  data: { threshold: 20, observedAt: new Date().toISOString(), ruleVersion: 1 },
})

inBothModes('the live alert stream', (mode) => {
  let harness: Harness
  let producer: Producer
  let app: FastifyInstance
  let url: string

  before(async () => {
    harness = await startHarness(mode)
    producer = createProducer(harness.deps.backend, harness.deps.logger)
    app = await buildApiApp(harness.deps, producer)
    url = `ws://${await listenLocally(app)}/v1/stream`
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
  const alertFor = async (userId: string, condition = `fuel:${randomUUID()}`) => {
    const applied = await applyEvaluation(harness.deps.db, userId, {
      conditions: [condition],
      drafts: [draft(condition)],
    })
    await publishAlertEvents(harness.deps.backend.bus, appliedEvents(userId, applied))
    return { applied, condition }
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
      const { applied, condition } = await alertFor(alice.id)
      const created = await aliceStream.next((m) => m.type === 'alert.created')
      assert.equal((created.alert as { id: string }).id, applied.created[0]?.id)
      const cleared = await applyEvaluation(harness.deps.db, alice.id, { conditions: [condition], drafts: [] })
      await publishAlertEvents(harness.deps.backend.bus, appliedEvents(alice.id, cleared))
      assert.deepEqual(await aliceStream.next((m) => m.type === 'alert.resolved'), {
        type: 'alert.resolved',
        alertId: applied.created[0]?.id,
      })
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
    const { applied } = await alertFor(alice.id)
    const stream = await openStream(`${url}?since=${encodeURIComponent(before)}`, {
      authorization: `Bearer ${alice.token}`,
    })
    try {
      const replayed = await stream.next((m) => m.type === 'alert.created')
      assert.equal((replayed.alert as { id: string }).id, applied.created[0]?.id)
      assert.equal(stream.messages[0]?.type, 'hello')
    } finally {
      stream.close()
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
          const { applied } = await alertFor(alice.id)
          for (const alert of applied.created) sent.add(alert.id)
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
