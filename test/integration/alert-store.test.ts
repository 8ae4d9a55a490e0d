import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import type { AlertDraft } from '../../src/monitoring/alerts/alert-draft.js'
import {
  ALERT_CHANNEL,
  type AlertEvent,
  appliedEvents,
  applyEvaluation,
  publishAlertEvents,
  unpackAlertEvents,
} from '../../src/monitoring/alerts/alert-store.js'
import { ensureUser } from '../../src/travellers/users/user-repository.js'
import { eventually, type Harness, inBothModes, startHarness } from '../helpers/harness.js'

const draft = (overrides: Partial<AlertDraft> = {}): AlertDraft => ({
  kind: 'fuel_low',
  priority: 'medium',
  condition: 'fuel:v1',
  variant: 'medium',
  title: 'Fuel low',
  body: 'Fuel at 15 %',
  data: { threshold: 20, observedAt: '2026-11-23T10:00:00.000Z', ruleVersion: 1, percent: 15 },
  ...overrides,
})
const high = draft({ priority: 'high', variant: 'high', data: { ...draft().data, threshold: 10, percent: 8 } })

inBothModes('the alert store', (mode) => {
  let harness: Harness
  before(async () => {
    harness = await startHarness(mode)
  })
  after(() => harness.close())

  const newUser = async () => {
    const id = randomUUID()
    await ensureUser(harness.deps.db, id)
    return id
  }
  const openAlerts = (userId: string) =>
    harness.deps.db
      .selectFrom('alerts')
      .select(['id', 'priority', 'dedupe_key'])
      .where('user_id', '=', userId)
      .where('resolved_at', 'is', null)
      .execute()

  it('creates exactly one alert from twenty concurrent evaluations of one condition', async () => {
    const userId = await newUser()
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        applyEvaluation(harness.deps.db, userId, { conditions: ['fuel:v1'], drafts: [draft()] }),
      ),
    )
    assert.equal(results.flatMap((r) => r.created).length, 1)
    assert.equal((await openAlerts(userId)).length, 1)
  })

  it('escalates by opening the higher alert and resolving the lower; clears by resolving', async () => {
    const userId = await newUser()
    const first = await applyEvaluation(harness.deps.db, userId, { conditions: ['fuel:v1'], drafts: [draft()] })
    const again = await applyEvaluation(harness.deps.db, userId, { conditions: ['fuel:v1'], drafts: [draft()] })
    assert.deepEqual(again, { created: [], resolved: [] }, 'the same condition again changes nothing')
    const escalated = await applyEvaluation(harness.deps.db, userId, { conditions: ['fuel:v1'], drafts: [high] })
    assert.equal(escalated.created[0]?.priority, 'high')
    assert.deepEqual(
      escalated.resolved.map((row) => row.id),
      [first.created[0]?.id],
    )
    assert.deepEqual(
      (await openAlerts(userId)).map((a) => a.priority),
      ['high'],
    )
    const cleared = await applyEvaluation(harness.deps.db, userId, { conditions: ['fuel:v1'], drafts: [] })
    assert.deepEqual(
      cleared.resolved.map((row) => row.id),
      [escalated.created[0]?.id],
    )
    assert.equal((await openAlerts(userId)).length, 0)
    // Resolved alerts do not block the next one for the same condition.
    assert.equal(
      (await applyEvaluation(harness.deps.db, userId, { conditions: ['fuel:v1'], drafts: [draft()] })).created.length,
      1,
    )
  })

  it('leaves conditions it did not evaluate alone', async () => {
    const userId = await newUser()
    await applyEvaluation(harness.deps.db, userId, {
      conditions: ['fuel:v1', 'fuel:v2'],
      drafts: [draft(), draft({ condition: 'fuel:v2' })],
    })
    await applyEvaluation(harness.deps.db, userId, { conditions: ['fuel:v1'], drafts: [] })
    assert.deepEqual(
      (await openAlerts(userId)).map((a) => a.dedupe_key),
      ['fuel:v2|medium'],
    )
  })

  it('publishes created and resolved events on the bus', async () => {
    const userId = await newUser()
    const received: AlertEvent[] = []
    const unsubscribe = await harness.deps.backend.bus.subscribe(ALERT_CHANNEL, (message) => {
      received.push(...unpackAlertEvents(message).filter((event) => event.userId === userId))
    })
    try {
      const created = await applyEvaluation(harness.deps.db, userId, { conditions: ['fuel:v1'], drafts: [draft()] })
      await publishAlertEvents(harness.deps.backend.bus, appliedEvents(userId, created))
      const cleared = await applyEvaluation(harness.deps.db, userId, { conditions: ['fuel:v1'], drafts: [] })
      await publishAlertEvents(harness.deps.backend.bus, appliedEvents(userId, cleared))
      await eventually(async () => (received.length === 2 ? true : undefined), 5_000, 'two events')
      assert.equal(received[0]?.type, 'alert.created')
      assert.equal(received[0]?.type === 'alert.created' && received[0].alert.data.percent, 15)
      // The change as the table keeps it (read as a Date): the event's text is the same time.
      const row = await harness.deps.db
        .selectFrom('alerts')
        .select(['version', 'changed_at', 'resolved_at'])
        .where('id', '=', created.created[0]?.id ?? '')
        .executeTakeFirstOrThrow()
      assert.ok(row.resolved_at, 'resolved')
      assert.deepEqual(received[1], {
        type: 'alert.resolved',
        userId,
        alertId: created.created[0]?.id,
        version: Number(row.version),
        changedAt: row.changed_at.toISOString(),
      })
      assert.equal(cleared.resolved.length, 1)
    } finally {
      await unsubscribe()
    }
  })

  it("packs a page's events into few bus messages, each small enough for PostgreSQL's NOTIFY, in order", async () => {
    const userId = await newUser()
    const messages: AlertEvent[][] = []
    const unsubscribe = await harness.deps.backend.bus.subscribe(ALERT_CHANNEL, (message) => {
      const events = unpackAlertEvents(message).filter((event) => event.userId === userId)
      if (events.length > 0) messages.push(events)
    })
    try {
      const conditions = Array.from({ length: 300 }, (_, index) => `fuel:v${index}`)
      const created = await applyEvaluation(harness.deps.db, userId, {
        conditions,
        drafts: conditions.map((condition) => draft({ condition })),
      })
      assert.equal(created.created.length, 300)
      await publishAlertEvents(harness.deps.backend.bus, appliedEvents(userId, created))
      const received = await eventually(
        async () => (messages.flat().length === 300 ? messages.flat() : undefined),
        10_000,
        '300 events',
      )
      assert.deepEqual(
        received.map((event) => (event.type === 'alert.created' ? event.alert.id : '')),
        created.created.map((alert) => alert.id),
        'every event, in order',
      )
      assert.ok(messages.length < 300 / 3, `${messages.length} messages for 300 events`)
    } finally {
      await unsubscribe()
    }
  })
})
