import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import { sendAddressConfirmation } from '../../src/delivery/address-confirmation.js'
import { createPushChannel } from '../../src/delivery/channels/push-channel.js'
import { deliverAlerts } from '../../src/delivery/deliver-alert.js'
import type { DeliveryServices } from '../../src/delivery/delivery-services.js'
import { drainDeliveriesTask } from '../../src/jobs/tasks/notify-tasks.js'
import { type HeartbeatHandle, startHeartbeat } from '../../src/platform/heartbeats/heartbeat.js'
import { type ApiHarness, client, startApiHarness, userToken } from '../helpers/api.js'
import { followConfirmation } from '../helpers/confirm-address.js'
import { storedAlert, testDeliveryServices } from '../helpers/delivery-services.js'
import { eventually, inBothModes } from '../helpers/harness.js'
import { type PushPeer, startPushPeer } from '../helpers/push-peer.js'
import { type SmtpPeer, startSmtpPeer } from '../helpers/smtp-peer.js'

inBothModes('a snoozed alert on email and Web Push', (mode) => {
  let api: ApiHarness
  let smtp: SmtpPeer
  let push: PushPeer
  let services: DeliveryServices
  let worker: HeartbeatHandle

  before(async () => {
    api = await startApiHarness(mode, { PUSH_ALLOW_PRIVATE_ENDPOINTS: 'true' })
    worker = await startHeartbeat(api.harness.deps.db, api.harness.deps.logger, {
      role: 'worker',
      queues: ['notifications'],
      concurrency: 1,
    })
    smtp = await startSmtpPeer()
    const vapid = api.harness.deps.secrets.vapid
    if (!vapid) throw new Error('outside production the harness has generated VAPID keys')
    push = await startPushPeer(vapid.publicKey)
    const channels = testDeliveryServices(api.harness, smtp, {
      now: () => new Date(),
      emailCap: 100,
      holder: worker.id,
      push: createPushChannel(vapid, 'mailto:ops@example.org', { allowPrivate: true, ca: push.ca }),
    })
    // What the worker's notify.deliver jobs would do with what the drainer queues: deliver them.
    services = {
      ...channels,
      enqueueDeliveries: async (ids) => {
        await deliverAlerts(api.harness.deps.db, services, api.harness.deps.logger, ids)
      },
    }
  })
  after(async () => {
    await worker?.stop()
    services?.email?.close()
    services?.push?.close()
    await push?.close()
    await smtp?.stop()
    await api?.close()
  })

  /** notify.drain as a worker runs it. */
  const drain = () =>
    drainDeliveriesTask(
      {},
      {
        db: api.harness.deps.db,
        logger: api.harness.deps.logger,
        workerId: worker.id,
        jobId: randomUUID(),
        signal: new AbortController().signal,
        retriesLeft: true,
        delivery: services,
      },
    )

  it('sends nothing on any channel while snoozed, then once when the snooze ends', async () => {
    const userId = randomUUID()
    const call = client(api.app, await userToken(userId))
    const address = `${userId.slice(0, 8)}@example.org`
    const settings = (await call('GET', '/v1/me/notification-settings')).body
    await call('PUT', '/v1/me/notification-settings', {
      ...settings,
      email: { address, enabled: true, minPriority: 'medium' },
      push: { enabled: true, minPriority: 'medium' },
    })
    assert.equal(await sendAddressConfirmation(api.harness.deps.db, services, userId), 'sent')
    await followConfirmation(api.app, smtp, address)
    const browser = push.subscribe()
    await call('POST', '/v1/push-subscriptions', { endpoint: browser.endpoint, keys: browser.keys })
    const mails = () => smtp.state.mails.filter((mail) => JSON.stringify(mail.to).includes(address))
    const pushes = () => push.state.received.filter((p) => p.path === browser.path)

    const alertId = await storedAlert(api.harness.deps.db, userId, { priority: 'high', createdAt: new Date() })
    const until = new Date(Date.now() + 3_000).toISOString()
    assert.equal((await call('PATCH', `/v1/alerts/${alertId}`, { snoozedUntil: until })).status, 200)
    await deliverAlerts(api.harness.deps.db, services, api.harness.deps.logger, [alertId])
    await drain()
    const during = (await call('GET', `/v1/alerts/${alertId}/deliveries`)).body.items
    assert.deepEqual(
      during.map((d: { channel: string; status: string; reason: string }) => [d.channel, d.status, d.reason]),
      [
        ['email', 'suppressed', 'snoozed'],
        ['push', 'suppressed', 'snoozed'],
      ],
    )
    assert.deepEqual([mails().length, pushes().length], [0, 0])

    await eventually(async () => (Date.now() > Date.parse(until) ? true : undefined), 10_000, 'the snooze to end')
    assert.deepEqual(await drain(), { queued: 0, woken: 1 })
    assert.deepEqual([mails().length, pushes().length], [1, 1])
    assert.equal(JSON.parse(pushes()[0]?.payload ?? '{}').title, 'Budget at high')
    assert.deepEqual(await drain(), { queued: 0, woken: 0 })
    assert.deepEqual([mails().length, pushes().length], [1, 1], 'once')
    const settled = (await call('GET', `/v1/alerts/${alertId}/deliveries`)).body.items
    assert.deepEqual(
      settled.map((d: { channel: string; status: string }) => [d.channel, d.status]),
      [
        ['email', 'sent'],
        ['push', 'sent'],
      ],
    )
  })
})
