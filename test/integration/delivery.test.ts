import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { lookup } from 'node:dns'
import { after, before, beforeEach, describe, it } from 'node:test'
import type { ParsedMail } from 'mailparser'
import { sendAddressConfirmation } from '../../src/delivery/address-confirmation.js'
import { createPushChannel } from '../../src/delivery/channels/push-channel.js'
import type { Lookup } from '../../src/delivery/channels/push-endpoint.js'
import { deliverAlerts } from '../../src/delivery/deliver-alert.js'
import { claimDeliveries, settleDelivery } from '../../src/delivery/delivery-repository.js'
import type { DeliveryServices } from '../../src/delivery/delivery-services.js'
import { sendDailyDigests, sendDueDigests } from '../../src/delivery/digests.js'
import { unsubscribeLinks } from '../../src/delivery/unsubscribe-link.js'
import type { AlertKind, AlertPriority } from '../../src/platform/db/schema.js'
import { type HeartbeatHandle, startHeartbeat } from '../../src/platform/heartbeats/heartbeat.js'
import { type ApiHarness, type Client, client, startApiHarness, userToken } from '../helpers/api.js'
import { followConfirmation } from '../helpers/confirm-address.js'
import { storedAlert, testDeliveryServices } from '../helpers/delivery-services.js'
import { inBothModes, TEST_INTERNAL_TOKEN } from '../helpers/harness.js'
import { type PushPeer, startPushPeer } from '../helpers/push-peer.js'
import { type SmtpPeer, startSmtpPeer } from '../helpers/smtp-peer.js'

const SETTINGS = {
  email: { address: 'ana@example.org', enabled: true, minPriority: 'high' },
  push: { enabled: true, minPriority: 'medium' },
  quietHours: null as { start: string; end: string } | null,
  digest: { enabled: false, at: '08:00' },
  ai: { enabled: true },
}

inBothModes('alert delivery by email and Web Push', (mode) => {
  let api: ApiHarness
  let smtp: SmtpPeer
  let push: PushPeer
  let services: DeliveryServices
  let worker: HeartbeatHandle
  const clock = { now: new Date() }

  before(async () => {
    api = await startApiHarness(mode, { PUSH_ALLOW_PRIVATE_ENDPOINTS: 'true' })
    // The worker these tests deliver as: alive, so its claims are its own.
    worker = await startHeartbeat(api.harness.deps.db, api.harness.deps.logger, {
      role: 'worker',
      queues: ['notifications'],
      concurrency: 1,
    })
    smtp = await startSmtpPeer()
    const vapid = api.harness.deps.secrets.vapid
    if (!vapid) throw new Error('outside production the harness has generated VAPID keys')
    push = await startPushPeer(vapid.publicKey)
    services = testDeliveryServices(api.harness, smtp, {
      now: () => clock.now,
      emailCap: 100,
      holder: worker.id,
      push: createPushChannel(vapid, 'mailto:ops@example.org', { allowPrivate: true, ca: push.ca }),
    })
  })
  after(async () => {
    await worker?.stop()
    services?.email?.close()
    services?.push?.close()
    await push?.close()
    await smtp?.stop()
    await api?.close()
  })
  beforeEach(() => {
    clock.now = new Date()
    smtp.state.mails.length = 0
    smtp.state.refuseTo.clear()
    push.state.received.length = 0
    push.state.refused.length = 0
  })

  const db = () => api.harness.deps.db
  const deliver = (alertId: string) => deliverAlerts(db(), services, api.harness.deps.logger, [alertId])
  const digests = (jobId = randomUUID()) => sendDueDigests(db(), services, api.harness.deps.logger, jobId)

  /** A traveller with these settings and timezone, one browser subscribed to pushes. */
  async function traveller(settings: Partial<typeof SETTINGS> = {}, timezone = 'UTC') {
    const userId = randomUUID()
    const call = client(api.app, await userToken(userId))
    assert.equal((await call('PATCH', '/v1/me', { timezone })).status, 200)
    const address = `${userId.slice(0, 8)}@example.org`
    const put = await call('PUT', '/v1/me/notification-settings', {
      ...SETTINGS,
      ...settings,
      email: { ...SETTINGS.email, address, ...settings.email },
    })
    assert.equal(put.status, 200, JSON.stringify(put.body))
    // The confirmation job's work, then the owner following the link from the mailbox.
    assert.equal(await sendAddressConfirmation(db(), services, userId), 'sent')
    await followConfirmation(api.app, smtp, address)
    const browser = push.subscribe()
    const subscribed = await call('POST', '/v1/push-subscriptions', { endpoint: browser.endpoint, keys: browser.keys })
    assert.equal(subscribed.status, 201, JSON.stringify(subscribed.body))
    return { userId, call, address, browser, subscriptionId: subscribed.body.id as string }
  }

  const alert = (
    userId: string,
    priority: AlertPriority,
    extra: { kind?: AlertKind; title?: string; body?: string } = {},
  ) => storedAlert(db(), userId, { priority, createdAt: clock.now, ...extra })

  const statuses = async (call: Client, alertId: string) => {
    const response = await call('GET', `/v1/alerts/${alertId}/deliveries`)
    assert.equal(response.status, 200)
    return Object.fromEntries(
      (response.body.items as Array<{ channel: string; status: string; reason: string | null }>).map((d) => [
        d.channel,
        d.reason ? `${d.status}: ${d.reason}` : d.status,
      ]),
    )
  }

  const inDoubt = async (call: Client, alertId: string) => {
    const response = await call('GET', `/v1/alerts/${alertId}/deliveries`)
    assert.equal(response.status, 200)
    return Object.fromEntries(
      (response.body.items as Array<{ channel: string; inDoubt: boolean }>).map((d) => [d.channel, d.inDoubt]),
    )
  }

  // mailparser folds the List-* headers into one object: the lines as sent are what mail clients read
  const header = (mail: ParsedMail | undefined, key: string) => mail?.headerLines.find((line) => line.key === key)?.line
  const mailsTo = (address: string) =>
    smtp.state.mails.filter((mail) => mail.to && JSON.stringify(mail.to).includes(address))

  it('sends each channel from its own minimum priority: push from medium, email from high', async () => {
    const { userId, call, address, browser } = await traveller()
    const low = await alert(userId, 'low')
    const medium = await alert(userId, 'medium', { title: 'Budget nearly spent' })
    const high = await alert(userId, 'high', { title: 'Budget over 80 %' })
    for (const id of [low, medium, high]) await deliver(id)

    assert.deepEqual(await statuses(call, low), {
      email: 'suppressed: below minimum priority',
      push: 'suppressed: below minimum priority',
    })
    assert.deepEqual(await statuses(call, medium), { email: 'suppressed: below minimum priority', push: 'sent' })
    assert.deepEqual(await statuses(call, high), { email: 'sent', push: 'sent' })

    const mails = mailsTo(address)
    assert.equal(mails.length, 1)
    const mail = mails[0]
    assert.ok(mail)
    assert.equal(mail.subject, 'Budget over 80 %')
    assert.match(mail.text ?? '', /Food: 412 of 450 USD/)
    assert.match(String(mail.html), /<h2>Budget over 80 %<\/h2>/)
    assert.equal(header(mail, 'list-unsubscribe-post'), 'List-Unsubscribe-Post: List-Unsubscribe=One-Click')
    assert.match(
      header(mail, 'list-unsubscribe') ?? '',
      /^List-Unsubscribe:\s*<http:\/\/localhost:8000\/unsubscribe\?token=[\w.-]+>/,
    )

    const pushes = push.state.received.filter((p) => p.path === browser.path)
    assert.deepEqual(
      pushes.map((p) => JSON.parse(p.payload).title),
      ['Budget nearly spent', 'Budget over 80 %'],
    )
    assert.equal(pushes[0]?.headers.urgency, 'normal')
    assert.equal(pushes[1]?.headers.urgency, 'high')
    assert.equal(pushes[1]?.headers.ttl, String(4 * 3600))
    assert.match(String(pushes[1]?.headers.topic), /^[\w-]{32}$/)
    assert.deepEqual(push.state.refused, [])
  })

  it('keeps a long alert push within the 4 KB limit', async () => {
    const { userId, browser } = await traveller()
    await deliver(await alert(userId, 'high', { body: 'é'.repeat(5000) }))
    const received = push.state.received.find((p) => p.path === browser.path)
    assert.ok(received)
    assert.ok(Buffer.byteLength(received.payload) <= 3800, `${Buffer.byteLength(received.payload)} bytes`)
    assert.match(JSON.parse(received.payload).body, /^é+…$/)
  })

  it('holds all but urgent during quiet hours across a DST switch (Berlin) and sends the rest as one digest', async () => {
    const { userId, call, address, browser } = await traveller(
      { quietHours: { start: '22:00', end: '07:00' }, email: { minPriority: 'medium' } as never },
      'Europe/Berlin',
    )
    // 23:30 CEST on 24 October 2026; clocks go back at 03:00 that night, so 07:00 is 06:00 UTC.
    clock.now = new Date('2026-10-24T21:30:00Z')
    const medium = await alert(userId, 'medium', { title: 'Budget nearly spent' })
    const high = await alert(userId, 'high', { title: 'Budget over 80 %' })
    const gone = await alert(userId, 'medium', { title: 'Resolved by morning' })
    const urgent = await alert(userId, 'urgent', { title: 'Budget blown' })
    const fuel = await alert(userId, 'high', { kind: 'fuel_low', title: 'Fuel at 8 %' })
    for (const id of [medium, high, gone, urgent, fuel]) await deliver(id)

    assert.deepEqual(await statuses(call, medium), { email: 'deferred: quiet hours', push: 'deferred: quiet hours' })
    const deferred = await call('GET', `/v1/alerts/${medium}/deliveries`)
    assert.equal(deferred.body.items[0].deferredUntil, '2026-10-25T06:00:00.000Z')
    assert.deepEqual(await statuses(call, urgent), { email: 'sent', push: 'sent' })
    assert.deepEqual(await statuses(call, fuel), { email: 'sent', push: 'sent' }, 'fuel below 10 % wakes the traveller')
    assert.deepEqual(
      mailsTo(address).map((m) => m.subject),
      ['[urgent] Budget blown', 'Fuel at 8 %'],
    )

    await db()
      .updateTable('alerts')
      .set({ resolved_at: new Date('2026-10-25T03:00:00Z') })
      .where('id', '=', gone)
      .execute()
    clock.now = new Date('2026-10-25T05:59:00Z') // 06:59 CET: still quiet
    await digests()
    assert.equal(mailsTo(address).length, 2)

    clock.now = new Date('2026-10-25T06:00:30Z')
    // two schedulers at once, then a third late: one digest per channel
    await Promise.all([digests(), digests()])
    await digests()
    const digestMails = mailsTo(address).slice(2)
    assert.equal(digestMails.length, 1)
    assert.equal(digestMails[0]?.subject, 'While you were resting: 2 alerts')
    assert.match(digestMails[0]?.text ?? '', /Budget nearly spent/)
    assert.match(digestMails[0]?.text ?? '', /Budget over 80 %/)
    assert.doesNotMatch(digestMails[0]?.text ?? '', /Resolved by morning/)
    const digestPushes = push.state.received.filter(
      (p) => p.path === browser.path && JSON.parse(p.payload).type === 'digest',
    )
    assert.equal(digestPushes.length, 1)
    assert.deepEqual(JSON.parse(digestPushes[0]?.payload ?? '{}').alertIds.sort(), [medium, high].sort())
    assert.deepEqual(await statuses(call, medium), {
      email: 'sent: quiet hours digest',
      push: 'sent: quiet hours digest',
    })
    assert.deepEqual(await statuses(call, gone), {
      email: 'suppressed: closed before the digest',
      push: 'suppressed: closed before the digest',
    })
  })

  it('reads quiet hours on the wall clock of a second zone (Denver) and of where the traveller is now', async () => {
    const { userId, call, address } = await traveller(
      { quietHours: { start: '22:00', end: '07:00' }, email: { minPriority: 'medium' } as never },
      'Europe/Berlin',
    )
    // 23:00 in Berlin: quiet until 07:00 Berlin (05:00 UTC)
    clock.now = new Date('2026-07-01T21:00:00Z')
    const early = await alert(userId, 'medium', { title: 'Deferred in Berlin' })
    await deliver(early)
    const before = await call('GET', `/v1/alerts/${early}/deliveries`)
    assert.equal(before.body.items[0].deferredUntil, '2026-07-02T05:00:00.000Z')

    // overnight the traveller flies to Colorado: a context signal puts them in Denver
    await db()
      .insertInto('context_signals')
      .values({
        user_id: userId,
        kind: 'location',
        value: 'Moab',
        confidence: 0.9,
        lat: 39.74,
        lon: -104.99,
        observed_at: new Date('2026-07-02T04:00:00Z'),
      })
      .execute()
    clock.now = new Date('2026-07-02T05:00:30Z') // 23:00 in Denver: night again
    await digests()
    assert.equal(mailsTo(address).length, 0)
    const later = await call('GET', `/v1/alerts/${early}/deliveries`)
    assert.equal(later.body.items[0].deferredUntil, '2026-07-02T13:00:00.000Z', '07:00 in Denver (MDT)')

    clock.now = new Date('2026-07-02T05:30:00Z')
    const second = await alert(userId, 'high', { title: 'Deferred in Denver' })
    await deliver(second)
    assert.equal(
      (await call('GET', `/v1/alerts/${second}/deliveries`)).body.items[0].deferredUntil,
      '2026-07-02T13:00:00.000Z',
    )

    clock.now = new Date('2026-07-02T13:00:30Z')
    await digests()
    const mails = mailsTo(address)
    assert.equal(mails.length, 1)
    assert.match(mails[0]?.text ?? '', /Deferred in Berlin[\s\S]*Deferred in Denver/)
  })

  it('sends the daily digest of what is open at the chosen local time, once, across a DST switch (New York)', async () => {
    const { userId, address, browser } = await traveller({ digest: { enabled: true, at: '08:00' } }, 'America/New_York')
    const daily = (jobId = randomUUID()) => sendDailyDigests(db(), services, api.harness.deps.logger, jobId)
    const dailyMails = () => mailsTo(address).filter((mail) => /^Open today/.test(mail.subject ?? ''))
    const dailyPushes = () =>
      push.state.received.filter((p) => p.path === browser.path && JSON.parse(p.payload).type === 'digest')
    clock.now = new Date('2026-03-07T10:00:00Z')
    const high = await alert(userId, 'high', { title: 'Budget over 80 %' })
    const medium = await alert(userId, 'medium', { title: 'Oil change due' })
    const closed = await alert(userId, 'low', { title: 'Resolved overnight' })
    await db().updateTable('alerts').set({ resolved_at: clock.now }).where('id', '=', closed).execute()

    clock.now = new Date('2026-03-07T12:59:00Z') // 07:59 EST
    await daily()
    assert.equal(dailyMails().length, 0)

    clock.now = new Date('2026-03-07T13:00:30Z') // 08:00 EST: two schedulers at once, then a late one
    await Promise.all([daily(), daily()])
    await daily()
    assert.equal(dailyMails().length, 1)
    assert.equal(dailyMails()[0]?.subject, 'Open today: 2 alerts')
    assert.match(dailyMails()[0]?.text ?? '', /Budget over 80 %[\s\S]*Oil change due/)
    assert.doesNotMatch(dailyMails()[0]?.text ?? '', /Resolved overnight/)
    assert.equal(dailyPushes().length, 1)
    assert.deepEqual(JSON.parse(dailyPushes()[0]?.payload ?? '{}').alertIds, [high, medium])

    // The clocks went forward overnight: 08:00 is now 12:00 UTC, not 13:00.
    clock.now = new Date('2026-03-08T11:59:00Z')
    await daily()
    assert.equal(dailyMails().length, 1)
    clock.now = new Date('2026-03-08T12:00:30Z')
    await daily()
    assert.equal(dailyMails().length, 2)

    // PAM down through the morning: a digest three hours late is not sent in the afternoon.
    clock.now = new Date('2026-03-09T15:00:00Z')
    await daily()
    assert.equal(dailyMails().length, 2)
    assert.equal(dailyPushes().length, 2)
  })

  it('finishes a daily digest whose email failed for a moment, on the retry, without a second push', async () => {
    const { userId, address, browser } = await traveller({ digest: { enabled: true, at: '08:00' } })
    const daily = (jobId: string) => sendDailyDigests(db(), services, api.harness.deps.logger, jobId)
    clock.now = new Date('2026-05-04T07:00:00Z')
    await alert(userId, 'high', { title: 'Budget over 80 %' })
    clock.now = new Date('2026-05-04T08:00:30Z')
    smtp.state.refuse = 451
    try {
      await assert.rejects(daily('job-1'), /daily digests will be retried/)
    } finally {
      smtp.state.refuse = undefined
    }
    const pushes = () =>
      push.state.received.filter((p) => p.path === browser.path && JSON.parse(p.payload).type === 'digest')
    assert.equal(pushes().length, 1, 'the push went out')
    // The job's retry: the email is sent, the push is not sent again.
    clock.now = new Date('2026-05-04T08:01:30Z')
    await daily('job-1')
    assert.deepEqual(
      mailsTo(address).map((mail) => mail.subject),
      ['Open today: 1 alert'],
    )
    assert.equal(pushes().length, 1)
  })

  it("takes over a claim whose worker is dead, never a live worker's", async () => {
    const { userId, call, address } = await traveller()
    const other = await startHeartbeat(db(), api.harness.deps.logger, {
      role: 'worker',
      queues: ['notifications'],
      concurrency: 1,
    })
    try {
      const claimed = async (holder: string, title: string) => {
        const id = await alert(userId, 'high', { title })
        await db()
          .insertInto('deliveries')
          .values(
            (['email', 'push'] as const).map((channel) => ({
              alert_id: id,
              user_id: userId,
              channel,
              status: 'sending' as const,
              claimed_by: holder,
              attempts: 1,
            })),
          )
          .execute()
        return id
      }
      // Another worker, alive: it may have sent these and be about to record them.
      const live = await claimed(other.id, 'Claimed by a live worker')
      // A worker killed mid-send: no heartbeat any more.
      const abandoned = await claimed('worker-host-4242-deadbeef', 'Claimed by a dead worker')
      await deliver(live)
      await deliver(abandoned)
      assert.deepEqual(
        mailsTo(address).map((mail) => mail.subject),
        ['Claimed by a dead worker'],
      )
      assert.deepEqual(await statuses(call, abandoned), { email: 'sent', push: 'sent' })
      assert.deepEqual(await statuses(call, live), { email: 'queued', push: 'queued' }, 'still the other worker’s')
      // The dead worker may have sent them before it died: the traveller is told so.
      assert.deepEqual(await inDoubt(call, abandoned), { email: true, push: true })
      assert.deepEqual(await inDoubt(call, live), { email: false, push: false })
    } finally {
      await other.stop()
    }
  })

  it('records a send learnt after its claim was taken over, over what the other worker decided without sending', async () => {
    const { userId, call, address } = await traveller()
    const id = await alert(userId, 'high', { title: 'Sent by a worker stopped for a while' })
    // A worker claims the email and sends it, then stops (SIGSTOP, or cut off from PostgreSQL)
    // for longer than the heartbeat window before it can record the send: it looks dead.
    const stopped = 'worker-host-4343-stopped'
    const [claim] = await claimDeliveries(db(), stopped, [{ alertId: id, userId, channel: 'email' }])
    assert.equal(claim?.status, 'sending')
    // Meanwhile the condition cleared: the worker that takes the claim over sends nothing.
    await db().updateTable('alerts').set({ resolved_at: clock.now }).where('id', '=', id).execute()
    await deliver(id)
    assert.deepEqual((await statuses(call, id)).email, 'suppressed: resolved')
    assert.equal(mailsTo(address).length, 0)

    // The stopped worker resumes and records what it did: the row says what the traveller got.
    const emailSent = { userId, address, at: clock.now }
    assert.equal(await settleDelivery(db(), claim.id, stopped, { status: 'sent', sentAt: clock.now, emailSent }), true)
    assert.deepEqual((await statuses(call, id)).email, 'sent')
    assert.deepEqual(await inDoubt(call, id), { email: true, push: false })
    const counted = await db()
      .selectFrom('email_sends')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('user_id', '=', userId)
      .where('kind', '=', 'alert')
      .executeTakeFirstOrThrow()
    assert.equal(Number(counted.n), 1, 'counted against the hourly cap')
    // A second late record (the other worker had sent it too) changes nothing.
    assert.equal(
      await settleDelivery(db(), claim.id, 'worker-host-4444-other', { status: 'sent', sentAt: clock.now }),
      false,
    )
  })

  it('removes a subscription the push service says is gone (404/410) and keeps pushing to the others', async () => {
    const { userId, call, browser } = await traveller()
    const second = push.subscribe()
    const added = await call('POST', '/v1/push-subscriptions', { endpoint: second.endpoint, keys: second.keys })
    assert.equal(added.status, 201)
    push.state.answer.set(browser.path, 410)
    await deliver(await alert(userId, 'medium'))
    assert.equal(push.state.received.filter((p) => p.path === second.path).length, 1)
    const left = await db().selectFrom('push_subscriptions').select('endpoint').where('user_id', '=', userId).execute()
    assert.deepEqual(
      left.map((row) => row.endpoint),
      [second.endpoint],
    )

    push.state.answer.set(second.path, 404)
    const last = await alert(userId, 'medium')
    await deliver(last)
    assert.deepEqual(await statuses(call, last), { email: 'suppressed: below minimum priority', push: 'failed' })
    assert.equal(
      (await db().selectFrom('push_subscriptions').select('id').where('user_id', '=', userId).execute()).length,
      0,
    )
  })

  it('retries while SMTP is down and sends once when it is back; a refused mailbox fails without retry', async () => {
    const { userId, call, address } = await traveller()
    const id = await alert(userId, 'high')
    await smtp.stop()
    try {
      await assert.rejects(deliver(id), /delivery will be retried: email/)
      assert.deepEqual(await statuses(call, id), { email: 'queued', push: 'sent' })
      await assert.rejects(deliver(id), /delivery will be retried: email/)
    } finally {
      await smtp.start()
    }
    await deliver(id)
    await deliver(id)
    assert.equal(mailsTo(address).length, 1)
    const [email] = (await call('GET', `/v1/alerts/${id}/deliveries`)).body.items
    assert.equal(email.status, 'sent')
    assert.equal(email.attempts, 3)
    assert.equal(push.state.received.length, 1, 'the push went out once, during the outage')

    smtp.state.refuse = 550
    try {
      const refused = await alert(userId, 'high')
      await deliver(refused)
      assert.deepEqual((await statuses(call, refused)).email, 'failed')
      const failed = await api.app.inject({
        url: '/internal/deliveries?status=failed',
        headers: { authorization: `Bearer ${TEST_INTERNAL_TOKEN}` },
      })
      assert.equal(failed.statusCode, 200)
      assert.ok(JSON.parse(failed.body).items.some((d: { alertId: string }) => d.alertId === refused))
      assert.equal((await api.app.inject({ url: '/internal/deliveries?status=failed' })).statusCode, 401)
    } finally {
      smtp.state.refuse = undefined
    }
  })

  it("delivers a batch of travellers' alerts in one job, each by its own settings; its retry resends only the failed", async () => {
    const [ana, ben, cai] = [await traveller(), await traveller(), await traveller()]
    const batch = [
      await alert(ana.userId, 'high'),
      await alert(ben.userId, 'low'),
      await alert(cai.userId, 'high'),
      await alert(ana.userId, 'medium'),
    ]
    const deliverBatch = () => deliverAlerts(db(), services, api.harness.deps.logger, batch)
    // Cai's mailbox is full for a moment (451: try again later).
    smtp.state.refuseTo.set(cai.address, 451)
    await assert.rejects(deliverBatch(), /delivery will be retried: email/)
    assert.deepEqual(await statuses(ana.call, batch[0] as string), { email: 'sent', push: 'sent' })
    assert.deepEqual(await statuses(ben.call, batch[1] as string), {
      email: 'suppressed: below minimum priority',
      push: 'suppressed: below minimum priority',
    })
    assert.deepEqual(await statuses(cai.call, batch[2] as string), { email: 'queued', push: 'sent' })
    assert.deepEqual(await statuses(ana.call, batch[3] as string), {
      email: 'suppressed: below minimum priority',
      push: 'sent',
    })

    smtp.state.refuseTo.clear()
    const outcomes = await deliverBatch()
    assert.deepEqual(outcomes, { email: { sent: 1 }, push: {} }, 'the retry claimed only the queued email')
    assert.equal(mailsTo(ana.address).length, 1)
    assert.equal(mailsTo(cai.address).length, 1)
    const pushesTo = (browser: { path: string }) => push.state.received.filter((p) => p.path === browser.path).length
    assert.deepEqual([pushesTo(ana.browser), pushesTo(ben.browser), pushesTo(cai.browser)], [2, 0, 1])
  })

  it('sends one email and one push for twenty concurrent deliver jobs of one alert', async () => {
    const { userId, address, browser } = await traveller()
    const id = await alert(userId, 'urgent')
    await Promise.all(Array.from({ length: 20 }, () => deliver(id)))
    assert.equal(mailsTo(address).length, 1)
    assert.equal(push.state.received.filter((p) => p.path === browser.path).length, 1)
    const metrics = await api.harness.deps.metrics.registry.getSingleMetricAsString('pam_deliveries_total')
    assert.match(metrics, /pam_deliveries_total\{channel="email",outcome="sent"\} \d+/)
  })

  it('unsubscribes by one click without signing in: once, and only its own traveller', async () => {
    const ana = await traveller()
    const ben = await traveller()
    await deliver(await alert(ana.userId, 'high'))
    const line = header(mailsTo(ana.address)[0], 'list-unsubscribe') ?? ''
    const link = /(\/unsubscribe\?token=[\w.-]+)/.exec(line)?.[1]
    assert.ok(link, line)

    const page = await api.app.inject({ url: link })
    assert.equal(page.statusCode, 200)
    assert.match(page.body, /<form method="post">/)
    assert.equal(
      (await ana.call('GET', '/v1/me/notification-settings')).body.email.enabled,
      true,
      'GET changes nothing',
    )

    const oneClick = {
      method: 'POST' as const,
      url: link,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    }
    assert.equal((await api.app.inject(oneClick)).statusCode, 200)
    assert.equal((await ana.call('GET', '/v1/me/notification-settings')).body.email.enabled, false)
    assert.equal((await ben.call('GET', '/v1/me/notification-settings')).body.email.enabled, true)

    await ana.call('PUT', '/v1/me/notification-settings', {
      ...SETTINGS,
      email: { ...SETTINGS.email, address: ana.address },
    })
    assert.equal((await api.app.inject(oneClick)).statusCode, 410, 'a link works once')
    assert.equal((await ana.call('GET', '/v1/me/notification-settings')).body.email.enabled, true)

    const forged = `${link.slice(0, -4)}AAAA`
    assert.equal((await api.app.inject({ ...oneClick, url: forged })).statusCode, 400)
    const otherKey = await unsubscribeLinks('another-internal-token', 'http://localhost').url(ben.userId)
    assert.equal((await api.app.inject({ ...oneClick, url: otherKey.replace('http://localhost', '') })).statusCode, 400)
    assert.equal((await ben.call('GET', '/v1/me/notification-settings')).body.email.enabled, true)
  })

  it('pushes only to a public address, checked on the address it connects to (a name that now resolves inside)', async () => {
    const vapid = api.harness.deps.secrets.vapid
    assert.ok(vapid)
    // The resolver answers as DNS does once a host's record is changed to a loopback address.
    const rebound: Lookup = ((host: string, options: object, callback: (...args: unknown[]) => void) =>
      host === 'push.example.org'
        ? callback(null, [{ address: '127.0.0.1', family: 4 }])
        : lookup(host, options, callback as never)) as unknown as Lookup
    const guarded = createPushChannel(vapid, 'mailto:ops@example.org', {
      allowPrivate: false,
      ca: push.ca,
      lookup: rebound,
    })
    try {
      const { userId, call, browser } = await traveller()
      // Stored before endpoints were checked (or through a name that resolved outside then).
      await db()
        .insertInto('push_subscriptions')
        .values({ user_id: userId, endpoint: 'https://push.example.org/push/rebound', ...browser.keys })
        .execute()
      const id = await alert(userId, 'medium')
      await deliverAlerts(db(), { ...services, push: guarded }, api.harness.deps.logger, [id])
      const [pushed] = (await call('GET', `/v1/alerts/${id}/deliveries`)).body.items.filter(
        (d: { channel: string }) => d.channel === 'push',
      )
      assert.deepEqual([pushed.status, pushed.error], ['failed', 'push endpoint is not a public address'])
      assert.deepEqual([push.state.received, push.state.refused], [[], []], 'nothing reached the push service')
    } finally {
      guarded.close()
    }
  })

  it("shows a traveller a delivery's outcome in PAM's words, never a socket, TLS or server message", async () => {
    const { userId, call, address, browser } = await traveller()
    const errors = async (id: string) =>
      Object.fromEntries(
        (await call('GET', `/v1/alerts/${id}/deliveries`)).body.items.map((d: { channel: string; error: string }) => [
          d.channel,
          d.error,
        ]),
      )
    // Nothing listens on the endpoint's port: a connection refused.
    await db()
      .updateTable('push_subscriptions')
      .set({ endpoint: 'https://127.0.0.1:9/push/closed' })
      .where('user_id', '=', userId)
      .execute()
    smtp.state.refuseTo.set(address, 451)
    const first = await alert(userId, 'high')
    await assert.rejects(deliver(first), /delivery will be retried/)
    assert.deepEqual(await errors(first), {
      email: 'mail server deferred the message',
      push: 'push service unreachable',
    })
    // The push service refuses the request; the mail server refuses the address.
    await db()
      .updateTable('push_subscriptions')
      .set({ endpoint: browser.endpoint })
      .where('user_id', '=', userId)
      .execute()
    push.state.answer.set(browser.path, 400)
    smtp.state.refuseTo.set(address, 550)
    const second = await alert(userId, 'high')
    await deliver(second)
    assert.deepEqual(await errors(second), {
      email: 'mail server refused the message',
      push: 'push service refused the subscription',
    })
    const shown = JSON.stringify([await errors(first), await errors(second)])
    assert.doesNotMatch(shown, /ECONN|127\.0\.0\.1|:9\b|TLS|certificate|refused by the test|\b[45]\d\d\b/)
  })

  describe('the push and delivery routes', () => {
    it('keeps an endpoint with the traveller who subscribed it first, until they delete it', async () => {
      const ana = await traveller()
      const ben = client(api.app, await userToken(randomUUID()))
      const taken = await ben('POST', '/v1/push-subscriptions', {
        endpoint: ana.browser.endpoint,
        keys: ana.browser.keys,
      })
      assert.equal(taken.status, 409, JSON.stringify(taken.body))
      const owner = await db()
        .selectFrom('push_subscriptions')
        .select('user_id')
        .where('endpoint', '=', ana.browser.endpoint)
        .executeTakeFirstOrThrow()
      assert.equal(owner.user_id, ana.userId)
      assert.equal((await ana.call('DELETE', `/v1/push-subscriptions/${ana.subscriptionId}`)).status, 204)
      const moved = await ben('POST', '/v1/push-subscriptions', {
        endpoint: ana.browser.endpoint,
        keys: ana.browser.keys,
      })
      assert.equal(moved.status, 201)
    })

    it('gives the VAPID key, keeps subscriptions per traveller and shows deliveries only to their owner', async () => {
      const ana = await traveller()
      const ben = client(api.app, await userToken(randomUUID()))
      const key = await ben('GET', '/v1/push/vapid-public-key')
      assert.equal(key.status, 200)
      assert.equal(key.body.publicKey, api.harness.deps.secrets.vapid?.publicKey)

      assert.equal((await ben('DELETE', `/v1/push-subscriptions/${ana.subscriptionId}`)).status, 404)
      const bad = await ben('POST', '/v1/push-subscriptions', { endpoint: 'http://insecure', keys: ana.browser.keys })
      assert.equal(bad.status, 400)
      assert.ok(bad.body.details.some((d: { field: string }) => d.field === 'endpoint'))

      const id = await alert(ana.userId, 'high')
      await deliver(id)
      assert.equal((await ben('GET', `/v1/alerts/${id}/deliveries`)).status, 404)
      assert.equal((await ana.call('DELETE', `/v1/push-subscriptions/${ana.subscriptionId}`)).status, 204)
      const next = await alert(ana.userId, 'high')
      await deliver(next)
      assert.deepEqual((await statuses(ana.call, next)).push, 'suppressed: no subscription')
    })
  })
})
