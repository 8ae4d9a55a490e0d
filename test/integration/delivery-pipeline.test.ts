import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { type AlertStack, startAlertStack } from '../helpers/alert-stack.js'
import { VEHICLE } from '../helpers/api.js'
import { followConfirmation } from '../helpers/confirm-address.js'
import { type DatabaseOutage, databaseOutage } from '../helpers/database-outage.js'
import { startFakeOverpass } from '../helpers/fake-overpass.js'
import { eventually, inBothModes, testEnv } from '../helpers/harness.js'
import { spawnPam } from '../helpers/process.js'
import { type SmtpPeer, startSmtpPeer } from '../helpers/smtp-peer.js'

const MOAB = { lat: 38.57, lon: -109.55 }

inBothModes('alert delivery through the worker', (mode) => {
  let overpass: Awaited<ReturnType<typeof startFakeOverpass>>
  let smtp: SmtpPeer
  let stack: AlertStack

  before(async () => {
    overpass = await startFakeOverpass()
    smtp = await startSmtpPeer()
    stack = await startAlertStack(mode, {
      PLACES_API_URL: overpass.url,
      SMTP_URL: smtp.url,
      // A job whose worker lost the database is run again after this (Postgres-only: its queue went too).
      WORKER_LOCK_DURATION_MS: '5000',
    })
  })
  after(async () => {
    await stack?.close()
    await smtp?.stop()
    await overpass?.close()
  })

  async function emailedTraveller() {
    const traveller = await stack.traveller()
    const address = `${traveller.id.slice(0, 8)}@example.org`
    const settings = await traveller.call('GET', '/v1/me/notification-settings')
    await traveller.call('PUT', '/v1/me/notification-settings', {
      ...settings.body,
      email: { address, enabled: true, minPriority: 'medium' },
    })
    await followConfirmation(stack.app, smtp, address)
    return { ...traveller, address }
  }
  const mailsTo = (address: string) => smtp.state.mails.filter((mail) => JSON.stringify(mail.to).includes(address))

  /** A high alert written straight to the table: no job was queued for it. */
  const storedAlert = (userId: string, body: string, createdAt = new Date()) =>
    stack.harness.deps.db
      .insertInto('alerts')
      .values({
        user_id: userId,
        kind: 'budget_threshold',
        priority: 'high',
        title: 'Budget over 80 %',
        body,
        data: JSON.stringify({ threshold: 0.8, ruleVersion: 1 }),
        dedupe_key: randomUUID(),
        created_at: createdAt,
      } as never)
      .returning('id')
      .executeTakeFirstOrThrow()

  it('emails a new alert once, after the socket has it, and records the delivery', async () => {
    const { call, stream, address } = await emailedTraveller()
    try {
      const vehicle = (await call('POST', '/v1/vehicles', VEHICLE)).body
      await call('POST', `/v1/vehicles/${vehicle.id}/fuel-readings`, { percent: 15, ...MOAB })
      const created = await stream.next((m) => m.type === 'alert.created', 15_000)
      const alertId = (created.alert as { id: string }).id
      const [mail] = await eventually(async () => (mailsTo(address).length > 0 ? mailsTo(address) : undefined), 30_000)
      assert.match(mail?.subject ?? '', /fuel/i)
      const deliveries = await eventually(async () => {
        const items = (await call('GET', `/v1/alerts/${alertId}/deliveries`)).body.items as Array<{
          channel: string
          status: string
        }>
        return items.length === 2 && items.every((d) => d.status !== 'queued') ? items : undefined
      }, 15_000)
      assert.deepEqual(
        deliveries.map((d) => [d.channel, d.status]),
        [
          ['email', 'sent'],
          ['push', 'suppressed'],
        ],
      )
      assert.equal(mailsTo(address).length, 1)
    } finally {
      stream.close()
    }
  })

  it('does not slow alerts while SMTP is down, and emails once when it is back', async () => {
    const { call, stream, address } = await emailedTraveller()
    await smtp.stop()
    try {
      const vehicle = (await call('POST', '/v1/vehicles', VEHICLE)).body
      const started = Date.now()
      await call('POST', `/v1/vehicles/${vehicle.id}/fuel-readings`, { percent: 15, ...MOAB })
      await stream.next((m) => m.type === 'alert.created', 15_000)
      const socketMs = Date.now() - started
      assert.ok(socketMs < 10_000, `the alert reached the socket after ${socketMs} ms`)
      await eventually(
        async () => {
          const row = await stack.harness.deps.db
            .selectFrom('deliveries')
            .select(['error'])
            .where('user_id', '=', (await call('GET', '/v1/me')).body.id)
            .where('channel', '=', 'email')
            .executeTakeFirst()
          return row?.error ? row : undefined
        },
        30_000,
        'a failed first attempt',
      )
    } finally {
      await smtp.start()
      stream.close()
    }
    await eventually(
      async () => (mailsTo(address).length > 0 ? true : undefined),
      60_000,
      'the email after SMTP is back',
    )
    assert.equal(mailsTo(address).length, 1)
  })

  it('records an email sent just before PostgreSQL went away, and never sends it again', async () => {
    const { call, stream, address } = await emailedTraveller()
    let outage: DatabaseOutage | undefined
    // PostgreSQL goes away the instant the SMTP server takes the message: the worker knows it
    // sent it, and cannot record it.
    smtp.state.beforeAccept = async (mail) => {
      if (!outage && JSON.stringify(mail.to).includes(address)) outage = await databaseOutage(stack.harness.databaseUrl)
    }
    let alertId: string
    try {
      const vehicle = (await call('POST', '/v1/vehicles', VEHICLE)).body
      await call('POST', `/v1/vehicles/${vehicle.id}/fuel-readings`, { percent: 15, ...MOAB })
      alertId = ((await stream.next((m) => m.type === 'alert.created', 15_000)).alert as { id: string }).id
      await eventually(async () => outage, 30_000, 'the email, and the outage with it')
      await sleep(3_000)
    } finally {
      smtp.state.beforeAccept = undefined
      await outage?.restore()
      stream.close()
    }
    const email = await eventually(
      async () => {
        const row = await stack.harness.deps.db
          .selectFrom('deliveries')
          .select(['status', 'attempts'])
          .where('alert_id', '=', alertId)
          .where('channel', '=', 'email')
          .executeTakeFirst()
          .catch(() => undefined)
        return row?.status === 'sent' ? row : undefined
      },
      60_000,
      'the email recorded as sent once PostgreSQL is back',
    )
    // What a retried job or the drainer does meanwhile finds it sent.
    await stack.producer.enqueue('notify.deliver', { alertIds: [alertId] })
    await sleep(2_000)
    assert.equal(mailsTo(address).length, 1, 'one email')
    assert.equal(email.attempts, 1)
  })

  it('delivers an alert whose deliver job was never queued, through notify.drain', async () => {
    const { id, address } = await emailedTraveller()
    const alert = await storedAlert(id, 'made by a writer whose job was lost', new Date(Date.now() - 60_000))
    await stack.producer.enqueue('notify.drain', {})
    await eventually(async () => (mailsTo(address).length > 0 ? true : undefined), 30_000, 'the drained email')
    await eventually(
      () =>
        stack.harness.deps.db
          .selectFrom('deliveries')
          .select('status')
          .where('alert_id', '=', alert.id)
          .where('channel', '=', 'email')
          .where('status', '=', 'sent')
          .executeTakeFirst(),
      15_000,
      'the drained delivery recorded as sent',
    )
  })

  it('delivers a notify.deliver job queued before deliveries went in batches ({alertId})', async () => {
    const { id, address } = await emailedTraveller()
    const alert = await storedAlert(id, 'queued by the previous version')
    await stack.producer.enqueue('notify.deliver', { alertId: alert.id })
    await eventually(async () => (mailsTo(address).length > 0 ? true : undefined), 30_000, 'the email')
    assert.match(mailsTo(address)[0]?.text ?? '', /queued by the previous version/)
  })

  it('pam demo shows the delivery record of its alerts, with the email sent to the local SMTP peer', async () => {
    const env = testEnv(mode, stack.harness.databaseUrl, {
      REDIS_PREFIX: stack.harness.config.REDIS_PREFIX,
      MIGRATE_ON_START: 'false',
      PLACES_API_URL: overpass.url,
      // No forecast: the demo skips the weather window at once.
      WEATHER_API_URL: 'http://127.0.0.1:9/forecast',
    })
    const demo = spawnPam(['demo', '--timeout', '45'], env)
    assert.equal(await demo.exited, 0, demo.output())
    const output = demo.output()
    assert.match(output, /^deliveries \(GET \/v1\/alerts\/:id\/deliveries\):$/m)
    // The demo's fuel alert (12 %) is medium: emailed (the demo traveller takes email from medium); no browser subscribed.
    assert.match(output, /^ {2}fuel_low\s+email sent, push suppressed \(no subscription\)$/m)
    const address = /demo traveller ([0-9a-f]{8})/.exec(output)?.[1]
    assert.ok(address, output)
    assert.ok(mailsTo(`demo-${address}@example.com`).length >= 1, 'the demo emailed its traveller')
  })
})
