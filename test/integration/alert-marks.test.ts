import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { type AlertStack, startAlertStack } from '../helpers/alert-stack.js'
import { VEHICLE } from '../helpers/api.js'
import { inBothModes } from '../helpers/harness.js'

// biome-ignore lint/suspicious/noExplicitAny: alerts arrive as JSON and are read field by field
type Message = Record<string, any>

inBothModes('a traveller reading and dismissing alerts', (mode) => {
  let stack: AlertStack

  before(async () => {
    stack = await startAlertStack(mode, {})
  })
  after(async () => {
    await stack.close()
  })

  it('tells the stream as alert.updated, once per change, so every device shows the same unread count', async () => {
    const { call, stream, openDevice } = await stack.traveller()
    const other = await openDevice()
    try {
      const vans = [
        (await call('POST', '/v1/vehicles', VEHICLE)).body,
        (await call('POST', '/v1/vehicles', VEHICLE)).body,
      ]
      for (const van of vans) await call('POST', `/v1/vehicles/${van.id}/fuel-readings`, { percent: 15 })
      const first = (await stream.next((m) => m.type === 'alert.created', 15_000)).alert as Message
      // next() looks at every message so far: the second is the created alert that is not the first.
      const second = (
        await stream.next((m) => m.type === 'alert.created' && (m.alert as Message).id !== first.id, 15_000)
      ).alert as Message
      await other.next((m) => m.type === 'alert.created' && (m.alert as Message).id === second.id, 15_000)

      const updated = (id: string, has: (alert: Message) => boolean) => (m: Message) =>
        m.type === 'alert.updated' && m.alert.id === id && has(m.alert)
      const marked = await call('PATCH', `/v1/alerts/${first.id}`, { read: true })
      assert.equal(marked.status, 200)
      // The list reads its times as text, the PATCH as Dates: the same alert either way, to the millisecond.
      const listed = (await call('GET', '/v1/alerts')).body.items as Message[]
      assert.deepEqual(
        listed.find((alert) => alert.id === first.id),
        marked.body,
      )
      const read = (
        await other.next(
          updated(first.id, (a) => a.readAt && !a.dismissedAt),
          15_000,
        )
      ).alert as Message
      // Read again: nothing changed, nothing sent. The next event about it is the dismissal.
      assert.equal((await call('PATCH', `/v1/alerts/${first.id}`, { read: true })).status, 200)
      assert.equal((await call('PATCH', `/v1/alerts/${first.id}`, { dismissed: true })).status, 200)
      const dismissed = (
        await other.next(
          updated(first.id, (a) => a.dismissedAt),
          15_000,
        )
      ).alert as Message
      assert.equal(dismissed.readAt, read.readAt, 'the first read time is kept')
      assert.equal(other.messages.filter(updated(first.id, (a) => a.readAt && !a.dismissedAt)).length, 1)

      const all = await call('POST', '/v1/alerts/read-all')
      assert.deepEqual(all.body, { updated: 1 })
      await other.next(
        updated(second.id, (a) => a.readAt),
        15_000,
      )
      const unread = await call('GET', '/v1/alerts?unread=true')
      assert.deepEqual(unread.body.items, [])
    } finally {
      stream.close()
      other.close()
    }
  })
})
