import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { type AlertStack, startAlertStack } from '../helpers/alert-stack.js'
import { eventually, inBothModes } from '../helpers/harness.js'

// biome-ignore lint/suspicious/noExplicitAny: alerts arrive as JSON and are read field by field
type Message = Record<string, any>
const SUGGESTION_TTL_MS = 24 * 3600 * 1000

inBothModes('an alert that expires', (mode) => {
  let stack: AlertStack

  before(async () => {
    stack = await startAlertStack(mode, {})
  })
  after(async () => {
    await stack.close()
  })

  it('reaches the stream as alert.expired when housekeeping closes it, and leaves the open list', async () => {
    const { call, stream } = await stack.traveller()
    try {
      // Observed almost a day ago: the suggestion it makes expires in a few seconds.
      const observedAt = new Date(Date.now() - SUGGESTION_TTL_MS + 3_000).toISOString()
      const signal = await call('POST', '/v1/context-signals', {
        kind: 'location',
        value: 'Moab',
        confidence: 0.9,
        observedAt,
      })
      assert.equal(signal.status, 201)
      const created = await stream.next(
        (m) => m.type === 'alert.created' && (m.alert as Message).kind === 'context_suggestion',
        20_000,
      )
      const alert = created.alert as Message
      await eventually(async () => (Date.now() > Date.parse(alert.expiresAt) ? true : undefined), 20_000, 'expiry')

      await stack.producer.enqueue('housekeeping.cleanup', {})
      const expired = await stream.next((m) => m.type === 'alert.expired', 20_000)
      assert.deepEqual(expired, {
        type: 'alert.expired',
        alertId: alert.id,
        version: expired.version,
        changedAt: expired.changedAt,
      })
      assert.ok((expired.version as number) > (created.version as number), 'a later change of the alert')

      const open = await call('GET', '/v1/alerts?kind=context_suggestion')
      assert.deepEqual(open.body.items, [])
      const all = await call('GET', '/v1/alerts?kind=context_suggestion&status=all')
      assert.equal(all.body.items[0]?.resolvedAt, alert.expiresAt, 'closed as of its expiry')
    } finally {
      stream.close()
    }
  })
})
