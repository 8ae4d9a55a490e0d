import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import { type AlertStack, startAlertStack } from '../helpers/alert-stack.js'
import { client, userToken, VEHICLE } from '../helpers/api.js'
import { followConfirmation } from '../helpers/confirm-address.js'
import { startFakeOverpass } from '../helpers/fake-overpass.js'
import { eventually, inBothModes } from '../helpers/harness.js'
import { type SmtpPeer, startSmtpPeer } from '../helpers/smtp-peer.js'

// biome-ignore lint/suspicious/noExplicitAny: alerts arrive as JSON and are read field by field
type Message = Record<string, any>
const MOAB = { lat: 38.57, lon: -109.55 }
const DAY_MS = 24 * 3_600_000

inBothModes('a traveller snoozing and judging alerts', (mode) => {
  let overpass: Awaited<ReturnType<typeof startFakeOverpass>>
  let smtp: SmtpPeer
  let stack: AlertStack

  before(async () => {
    overpass = await startFakeOverpass()
    smtp = await startSmtpPeer()
    stack = await startAlertStack(mode, { PLACES_API_URL: overpass.url, SMTP_URL: smtp.url })
  })
  after(async () => {
    await stack?.close()
    await smtp?.stop()
    await overpass?.close()
  })

  const mailsTo = (address: string) => smtp.state.mails.filter((mail) => JSON.stringify(mail.to).includes(address))
  const updated = (id: string, has: (alert: Message) => boolean) => (m: Message) =>
    m.type === 'alert.updated' && m.alert.id === id && has(m.alert)

  it('a snoozed condition leaves the open list and reaches no inbox, escalation included, then comes back once', async () => {
    const { call, stream, openDevice, id } = await stack.traveller()
    const other = await openDevice()
    const address = `${id.slice(0, 8)}@example.org`
    try {
      const settings = await call('GET', '/v1/me/notification-settings')
      await call('PUT', '/v1/me/notification-settings', {
        ...settings.body,
        email: { address, enabled: true, minPriority: 'medium' },
      })
      await followConfirmation(stack.app, smtp, address)
      const van = (await call('POST', '/v1/vehicles', VEHICLE)).body
      await call('POST', `/v1/vehicles/${van.id}/fuel-readings`, { percent: 15, ...MOAB })
      const medium = (await stream.next((m) => m.type === 'alert.created', 15_000)).alert as Message
      await eventually(async () => (mailsTo(address).length === 1 ? true : undefined), 30_000, 'the first email')

      const until = new Date(Date.now() + 5_000).toISOString()
      const snoozed = await call('PATCH', `/v1/alerts/${medium.id}`, { snoozedUntil: until })
      assert.equal(snoozed.status, 200, JSON.stringify(snoozed.body))
      assert.equal(snoozed.body.snoozedUntil, until)
      await other.next(
        updated(medium.id, (a) => a.snoozedUntil === until),
        15_000,
      )
      assert.deepEqual((await call('GET', '/v1/alerts')).body.items, [], 'out of the open list')

      // Worse while snoozed: the high alert of the same condition is snoozed with it, and mailed to no one.
      await call('POST', `/v1/vehicles/${van.id}/fuel-readings`, { percent: 8, ...MOAB })
      const high = (
        await stream.next((m) => m.type === 'alert.created' && (m.alert as Message).priority === 'high', 15_000)
      ).alert as Message
      assert.equal(high.snoozedUntil, until)
      const suppressed = await eventually(async () => {
        const items = (await call('GET', `/v1/alerts/${high.id}/deliveries`)).body.items as Message[]
        return items.length === 2 ? items : undefined
      }, 15_000)
      assert.deepEqual(
        suppressed.map((d) => [d.channel, d.status, d.reason]),
        [
          ['email', 'suppressed', 'snoozed'],
          ['push', 'suppressed', 'snoozed'],
        ],
      )
      await stack.producer.enqueue('notify.drain', {})
      assert.equal(mailsTo(address).length, 1, 'nothing mailed while snoozed')

      await eventually(async () => (Date.now() > Date.parse(until) ? true : undefined), 15_000, 'the snooze to end')
      await stack.producer.enqueue('notify.drain', {})
      const back = (
        await other.next(
          updated(high.id, (a) => a.snoozedUntil === null),
          15_000,
        )
      ).alert as Message
      assert.equal(back.readAt, null, 'back unread')
      const [mail] = await eventually(
        async () => (mailsTo(address).length === 2 ? mailsTo(address).slice(1) : undefined),
        30_000,
        'the email once the snooze ended',
      )
      assert.match(mail?.subject ?? '', /8 %/)
      assert.deepEqual(
        (await call('GET', '/v1/alerts')).body.items.map((a: Message) => a.id),
        [high.id],
      )

      // Once: another drain has nothing to wake and nothing to send.
      await stack.producer.enqueue('notify.drain', {})
      await stack.producer.enqueue('notify.drain', {})
      await eventually(async () => {
        const items = (await call('GET', `/v1/alerts/${high.id}/deliveries`)).body.items as Message[]
        return items.find((d) => d.channel === 'email')?.status === 'sent' ? true : undefined
      }, 15_000)
      assert.equal(other.messages.filter(updated(high.id, (a) => a.snoozedUntil === null)).length, 1)
      assert.equal(mailsTo(address).length, 2)
    } finally {
      stream.close()
      other.close()
    }
  })

  it('keeps a verdict with the alert, tells every device, and counts it per monitor', async () => {
    const { call, stream, openDevice } = await stack.traveller()
    const other = await openDevice()
    try {
      const van = (await call('POST', '/v1/vehicles', VEHICLE)).body
      await call('POST', `/v1/vehicles/${van.id}/fuel-readings`, { percent: 15 })
      const alert = (await stream.next((m) => m.type === 'alert.created', 15_000)).alert as Message
      const judged = await call('PATCH', `/v1/alerts/${alert.id}`, { feedback: 'useful', read: true })
      assert.equal(judged.status, 200)
      assert.equal(judged.body.feedback, 'useful')
      await other.next(
        updated(alert.id, (a) => a.feedback === 'useful'),
        15_000,
      )
      const monitors = (await call('GET', '/v1/me/monitors')).body.items as Message[]
      assert.deepEqual(monitors.find((m) => m.monitor === 'fuel')?.feedback, { useful: 1, notUseful: 0 })
      assert.deepEqual(monitors.find((m) => m.monitor === 'budget')?.feedback, { useful: 0, notUseful: 0 })

      // Changed their mind: still one verdict.
      await call('PATCH', `/v1/alerts/${alert.id}`, { feedback: 'not_useful' })
      const again = (await call('GET', '/v1/me/monitors')).body.items as Message[]
      assert.deepEqual(again.find((m) => m.monitor === 'fuel')?.feedback, { useful: 0, notUseful: 1 })

      // Back in the list at once: snoozedUntil null.
      await call('PATCH', `/v1/alerts/${alert.id}`, { snoozedUntil: new Date(Date.now() + DAY_MS).toISOString() })
      assert.deepEqual((await call('GET', '/v1/alerts')).body.items, [])
      const woken = await call('PATCH', `/v1/alerts/${alert.id}`, { snoozedUntil: null })
      assert.equal(woken.body.snoozedUntil, null)
      assert.equal((await call('GET', '/v1/alerts')).body.items.length, 1)
    } finally {
      stream.close()
      other.close()
    }
  })

  it('refuses a bad snooze or verdict with a 400 naming the field, and another traveller’s alert with a 404', async () => {
    const { call, stream } = await stack.traveller()
    try {
      const van = (await call('POST', '/v1/vehicles', VEHICLE)).body
      await call('POST', `/v1/vehicles/${van.id}/fuel-readings`, { percent: 15 })
      const alert = (await stream.next((m) => m.type === 'alert.created', 15_000)).alert as Message
      const path = `/v1/alerts/${alert.id}`
      const refusals: [unknown, string][] = [
        [{ snoozedUntil: new Date(Date.now() - 60_000).toISOString() }, 'snoozedUntil'],
        [{ snoozedUntil: new Date(Date.now() + 31 * DAY_MS).toISOString() }, 'snoozedUntil'],
        [{ snoozedUntil: 'tomorrow' }, 'snoozedUntil'],
        [{ snoozedUntil: 42 }, 'snoozedUntil'],
        [{ feedback: 'meh' }, 'feedback'],
        [{ feedback: null }, 'feedback'],
        [{ snoozed: true }, 'snoozed'],
      ]
      for (const [body, field] of refusals) {
        const refused = await call('PATCH', path, body)
        assert.equal(refused.status, 400, JSON.stringify({ body, answer: refused.body }))
        assert.ok(
          (refused.body.details as Message[]).some((d) => d.field === field),
          `${JSON.stringify(body)}: ${JSON.stringify(refused.body)}`,
        )
      }
      const stranger = client(stack.app, await userToken(randomUUID()))
      await stranger('GET', '/v1/me')
      const in30 = new Date(Date.now() + DAY_MS).toISOString()
      for (const body of [{ snoozedUntil: in30 }, { feedback: 'not_useful' }]) {
        assert.equal((await stranger('PATCH', path, body)).status, 404)
      }
      const mine = (await call('GET', '/v1/alerts')).body.items[0] as Message
      assert.deepEqual([mine.id, mine.snoozedUntil, mine.feedback, mine.version], [alert.id, null, null, alert.version])
    } finally {
      stream.close()
    }
  })
})
