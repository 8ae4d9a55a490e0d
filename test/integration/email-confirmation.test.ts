import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, beforeEach, it } from 'node:test'
import { sendAddressConfirmation } from '../../src/delivery/address-confirmation.js'
import { deliverAlerts } from '../../src/delivery/deliver-alert.js'
import type { DeliveryServices } from '../../src/delivery/delivery-services.js'
import { sendDueDigests } from '../../src/delivery/digests.js'
import type { AlertPriority } from '../../src/platform/db/schema.js'
import { type HeartbeatHandle, startHeartbeat } from '../../src/platform/heartbeats/heartbeat.js'
import { type ApiHarness, type Client, client, startApiHarness, userToken } from '../helpers/api.js'
import { confirmationLink, followConfirmation } from '../helpers/confirm-address.js'
import { storedAlert, testDeliveryServices } from '../helpers/delivery-services.js'
import { inBothModes } from '../helpers/harness.js'
import { type SmtpPeer, startSmtpPeer } from '../helpers/smtp-peer.js'

const SETTINGS = {
  email: { address: null as string | null, enabled: true, minPriority: 'high' },
  push: { enabled: false, minPriority: 'medium' },
  quietHours: null,
  digest: { enabled: false, at: '08:00' },
  ai: { enabled: true },
}
const CAP = 3

inBothModes('alert emails go to confirmed addresses only, a few an hour', (mode) => {
  let api: ApiHarness
  let smtp: SmtpPeer
  let services: DeliveryServices
  let worker: HeartbeatHandle
  const clock = { now: new Date() }

  before(async () => {
    api = await startApiHarness(mode)
    smtp = await startSmtpPeer()
    // The worker these tests deliver as: alive, so its claims are its own.
    worker = await startHeartbeat(api.harness.deps.db, api.harness.deps.logger, {
      role: 'worker',
      queues: ['notifications'],
      concurrency: 1,
    })
    services = testDeliveryServices(api.harness, smtp, { now: () => clock.now, emailCap: CAP, holder: worker.id })
  })
  after(async () => {
    await worker?.stop()
    services?.email?.close()
    await smtp?.stop()
    await api?.close()
  })
  beforeEach(() => {
    clock.now = new Date()
    smtp.state.mails.length = 0
  })

  const db = () => api.harness.deps.db
  const mailsTo = (address: string) => smtp.state.mails.filter((mail) => JSON.stringify(mail.to).includes(address))
  const address = () => `${randomUUID().slice(0, 8)}@example.org`

  async function traveller(email: string) {
    const userId = randomUUID()
    const call = client(api.app, await userToken(userId))
    await save(call, email)
    return { userId, call }
  }
  async function save(call: Client, email: string, extra: Record<string, unknown> = {}) {
    const saved = await call('PUT', '/v1/me/notification-settings', {
      ...SETTINGS,
      email: { ...SETTINGS.email, address: email, ...extra },
    })
    assert.equal(saved.status, 200, JSON.stringify(saved.body))
    return saved.body
  }
  const alert = (userId: string, title = 'Budget over 80 %', priority: AlertPriority = 'high') =>
    storedAlert(db(), userId, { priority, title, createdAt: clock.now })
  const deliver = (...alertIds: string[]) => deliverAlerts(db(), services, api.harness.deps.logger, alertIds)
  const emailStatus = async (call: Client, alertId: string) => {
    const [email] = (await call('GET', `/v1/alerts/${alertId}/deliveries`)).body.items
    return email.reason ? `${email.status}: ${email.reason}` : email.status
  }

  it('emails an address only once its owner followed the link sent to it', async () => {
    const to = address()
    const { userId, call } = await traveller(to)
    assert.deepEqual((await call('GET', '/v1/me/notification-settings')).body.email, {
      address: to,
      verified: false,
      enabled: true,
      minPriority: 'high',
    })
    assert.equal(await sendAddressConfirmation(db(), services, userId), 'sent')
    const before = await alert(userId)
    await deliver(before)
    assert.equal(await emailStatus(call, before), 'suppressed: address not confirmed')
    const [confirmation] = mailsTo(to)
    assert.equal(mailsTo(to).length, 1, 'the confirmation, nothing else')
    assert.equal(confirmation?.subject, 'Confirm your address for PAM alerts')
    assert.equal(confirmation?.headers.get('list-unsubscribe'), undefined)

    // Opening the link (a mail scanner does) changes nothing; the button does.
    const link = await confirmationLink(smtp, to)
    assert.equal((await api.app.inject({ url: link })).statusCode, 200)
    assert.equal((await call('GET', '/v1/me/notification-settings')).body.email.verified, false)
    await followConfirmation(api.app, smtp, to)
    assert.equal((await call('GET', '/v1/me/notification-settings')).body.email.verified, true)
    // Read-only: a PUT of what GET gave (or anything else) does not change it.
    assert.equal((await save(call, to, { verified: false })).email.verified, true)
    assert.equal((await save(call, to.toUpperCase())).email.verified, true, 'the same address in another case')
    await save(call, to)

    const after = await alert(userId)
    await deliver(after)
    assert.equal(await emailStatus(call, after), 'sent')
    assert.deepEqual(
      mailsTo(to).map((mail) => mail.subject),
      ['Budget over 80 %'],
    )
  })

  it('starts over when the address changes: the old link confirms nothing', async () => {
    const first = address()
    const { userId, call } = await traveller(first)
    await sendAddressConfirmation(db(), services, userId)
    const oldLink = await confirmationLink(smtp, first)
    const second = address()
    assert.equal((await save(call, second)).email.verified, false)
    clock.now = new Date(clock.now.getTime() + 60_000)
    assert.equal(await sendAddressConfirmation(db(), services, userId), 'sent')
    assert.equal((await api.app.inject({ method: 'POST', url: oldLink })).statusCode, 400)
    assert.equal((await call('GET', '/v1/me/notification-settings')).body.email.verified, false)
    await followConfirmation(api.app, smtp, second)
    assert.equal((await call('GET', '/v1/me/notification-settings')).body.email.verified, true)
    assert.equal((await save(call, first)).email.verified, false, 'back to the first address: confirmed again')
  })

  it("does not let travellers flood a stranger's address with confirmations", async () => {
    const stranger = address()
    const { userId, call } = await traveller(stranger)
    assert.equal(await sendAddressConfirmation(db(), services, userId), 'sent')
    assert.equal(await sendAddressConfirmation(db(), services, userId), 'recently sent')
    const outcomes: string[] = []
    for (let round = 0; round < 4; round++) {
      clock.now = new Date(clock.now.getTime() + 20 * 60_000)
      await save(call, address())
      await save(call, stranger)
      outcomes.push(await sendAddressConfirmation(db(), services, userId))
    }
    assert.deepEqual(outcomes, ['sent', 'sent', 'daily cap', 'daily cap'])
    // Another traveller naming the same address draws on the same daily allowance.
    const other = await traveller(stranger)
    assert.equal(await sendAddressConfirmation(db(), services, other.userId), 'daily cap')
    assert.equal(mailsTo(stranger).length, 3)
  })

  it('caps the emails per traveller and per address each hour; what is held back goes out as one digest', async () => {
    const to = address()
    const { userId, call } = await traveller(to)
    await sendAddressConfirmation(db(), services, userId)
    await followConfirmation(api.app, smtp, to)
    // An hour later: the confirmation email no longer counts.
    clock.now = new Date(clock.now.getTime() + 61 * 60_000)
    const started = clock.now
    // Two in one batch, then one job each.
    const alerts = await Promise.all(Array.from({ length: 6 }, (_, i) => alert(userId, `Alert ${i + 1}`)))
    await deliver(alerts[0] as string, alerts[1] as string)
    for (const id of alerts.slice(2)) await deliver(id)
    // The batch's two go out at once, in either order.
    assert.deepEqual(
      mailsTo(to)
        .map((mail) => mail.subject)
        .sort(),
      ['Alert 1', 'Alert 2', 'Alert 3'],
    )
    for (const id of alerts.slice(3)) {
      assert.equal(await emailStatus(call, id), 'deferred: hourly email limit')
      const [email] = (await call('GET', `/v1/alerts/${id}/deliveries`)).body.items
      assert.equal(email.deferredUntil, new Date(started.getTime() + 3_600_000).toISOString())
    }

    // A second traveller who named (and confirmed) the same address: the address had its hour too.
    const partner = await traveller(to)
    await sendAddressConfirmation(db(), services, partner.userId)
    await followConfirmation(api.app, smtp, to)
    const theirs = await alert(partner.userId, 'Their alert')
    await deliver(theirs)
    assert.equal(await emailStatus(partner.call, theirs), 'deferred: hourly email limit')

    clock.now = new Date(started.getTime() + 3_600_000 + 30_000)
    await sendDueDigests(db(), services, api.harness.deps.logger, randomUUID())
    const digests = mailsTo(to).slice(3)
    assert.deepEqual(digests.map((mail) => mail.subject).sort(), [
      'Held back so as not to flood your inbox: 1 alert',
      'Held back so as not to flood your inbox: 3 alerts',
    ])
    const held = digests.map((mail) => mail.text).join('\n')
    for (const title of ['Alert 4', 'Alert 5', 'Alert 6', 'Their alert']) assert.ok(held.includes(title), title)
    assert.equal(await emailStatus(call, alerts[5] as string), 'sent: hourly email limit digest')
  })

  it('writes a subject as one short line of printable text, whatever the title holds', async () => {
    const to = address()
    const { userId, call } = await traveller(to)
    await sendAddressConfirmation(db(), services, userId)
    await followConfirmation(api.app, smtp, to)
    const title = `Fuel low in \u202Eevil\u202C van\r\nBcc: victim@example.org\u200B${'x'.repeat(400)}`
    const id = await alert(userId, title, 'urgent')
    await deliver(id)
    assert.equal(await emailStatus(call, id), 'sent')
    const [mail] = mailsTo(to)
    const subject = mail?.subject ?? ''
    assert.ok(Array.from(subject).length <= 120, `${Array.from(subject).length} characters`)
    assert.match(subject, /^\[urgent\] Fuel low in evil van Bcc: victim@example\.org x+…$/)
    assert.equal(mail?.headers.get('bcc'), undefined)
    assert.doesNotMatch(subject, /[\r\n\u202E\u202C\u200B]/)
  })
})
