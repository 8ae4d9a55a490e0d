import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import fc from 'fast-check'
import { alertTextRequest } from '../../src/ai/alert-text.js'
import { plainTextProblem } from '../../src/ai/structured-text.js'
import type { TextGenerator } from '../../src/ai/text-generator.js'
import { buildTextGenerator } from '../../src/app/composition/worker-services.js'
import { sendAddressConfirmation } from '../../src/delivery/address-confirmation.js'
import { endpointProblem } from '../../src/delivery/channels/push-endpoint.js'
import { deliverAlerts } from '../../src/delivery/deliver-alert.js'
import type { DeliveryServices } from '../../src/delivery/delivery-services.js'
import { SUBJECT_MAX } from '../../src/delivery/messages.js'
import { type HeartbeatHandle, startHeartbeat } from '../../src/platform/heartbeats/heartbeat.js'
import { type ApiHarness, type Client, client, startApiHarness, userToken } from '../helpers/api.js'
import { followConfirmation } from '../helpers/confirm-address.js'
import { testDeliveryServices } from '../helpers/delivery-services.js'
import { startFakeGemini } from '../helpers/fake-gemini.js'
import { inBothModes } from '../helpers/harness.js'
import { type SmtpPeer, startSmtpPeer } from '../helpers/smtp-peer.js'

const RUNS = Number(process.env.HOSTILE_RUNS ?? 40)

/** Every byte of the UTF-8 text percent-encoded (a lone surrogate becomes U+FFFD, as in any URL). */
const percentEncoded = (text: string) =>
  [...Buffer.from(text, 'utf8')].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('')

/** Any UTF-16 text: controls, lone surrogates, bidi overrides, NUL. */
const anyText = (maxLength: number) =>
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)), maxLength })
const injected = fc.constantFrom(
  "x'; drop table users; --",
  'a\r\nBcc: victim@example.org',
  '\u202Egnp.exe\u202C',
  'zero\u200Bwidth',
  '<script>alert(1)</script>',
  '&lt;b&gt;',
  'https://evil.example/x',
  '\u0000',
  '\ud800',
  'x'.repeat(5_000),
)

/** Zones as travellers, scripts and attackers spell them. */
const zones = fc.oneof(
  fc.constantFrom(
    '+05:00',
    '-03:30',
    'UTC+5',
    'GMT+5',
    'EST5EDT',
    'PST',
    'CET',
    'posix/Europe/Berlin',
    'right/UTC',
    'Factory',
    'localtime',
    'posixrules',
    'america/DENVER',
    'Etc/GMT-14',
    'Etc/GMT+13',
    '../../etc/passwd',
    'Europe/Berlin ',
    'Mars/Olympus',
  ),
  injected,
  anyText(40),
  fc
    .tuple(
      fc.constantFrom('+', '-', '', 'UTC', 'GMT'),
      fc.integer({ min: 0, max: 99 }),
      fc.integer({ min: 0, max: 99 }),
    )
    .map(([sign, h, m]) => `${sign}${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`),
)

/** Endpoints that point anywhere, spelled any way. */
const hosts = fc.oneof(
  fc.constantFrom(
    '127.0.0.1',
    '2130706433',
    '0x7f.1',
    '0177.0.0.1',
    '[::1]',
    '[::ffff:127.0.0.1]',
    '[fd00:ec2::254]',
    '169.254.169.254',
    '100.100.100.200',
    'localhost',
    'metadata.google.internal',
    'push.example.org',
    'push.example.org:8443',
    'user:pw@push.example.org',
    'push.example.org#@127.0.0.1',
    'push.example.org\\@127.0.0.1',
    'ex\u0430mple.com',
    `${'a'.repeat(70)}.com`,
  ),
  fc.ipV4(),
  fc.ipV6().map((ip) => `[${ip}]`),
  fc.domain(),
)
const endpoints = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('https://', 'http://', 'HTTPS://', 'ftp://', 'https:/', '//', ''),
      hosts,
      fc.constantFrom('', '/', '/push/abc', '/%2e%2e/admin', '/?a=b', '/#x'),
    )
    .map((parts) => parts.join('')),
  fc.webUrl(),
  injected,
  anyText(60),
)

const addresses = fc.oneof(
  fc.emailAddress(),
  fc.constantFrom(
    'a@b.co\r\nBcc: victim@example.org',
    '"a b"@example.org',
    'a@[127.0.0.1]',
    `${'x'.repeat(300)}@example.org`,
    'UPPER@EXAMPLE.ORG',
    'a@example.org ',
  ),
  injected,
  anyText(40),
)

/** Replies a model (or whatever answers at its URL) may send. */
const replies = fc.oneof(
  fc.record({ title: fc.oneof(anyText(100), injected), body: fc.oneof(anyText(400), injected) }),
  fc.record({ title: fc.constantFrom('Fuel low', 'Budget at 85 %'), body: injected }),
  fc.jsonValue({ maxDepth: 3 }),
  anyText(200),
)

inBothModes('generated hostile values at every field that reaches SQL, a URL, a header or a prompt', (mode) => {
  let api: ApiHarness
  let smtp: SmtpPeer
  let gemini: Awaited<ReturnType<typeof startFakeGemini>>
  let services: DeliveryServices
  let worker: HeartbeatHandle
  let generate: TextGenerator
  const victim = { id: randomUUID(), address: `victim-${randomUUID().slice(0, 8)}@example.org` }
  const attacker = { id: randomUUID(), address: `attacker-${randomUUID().slice(0, 8)}@example.org` }
  let victimCall: Client
  let call: Client
  const ids: Record<string, string> = {}

  before(async () => {
    smtp = await startSmtpPeer()
    gemini = await startFakeGemini()
    api = await startApiHarness(mode, {
      RATE_LIMIT_PER_MINUTE: '100000',
      BRIEFING_REQUESTS_PER_HOUR: '1000',
      GEMINI_API_KEY: 'test-gemini-key',
      GEMINI_BASE_URL: gemini.url,
      AI_USER_DAILY_BUDGET_USD: '1000',
      AI_DAILY_BUDGET_USD: '10000',
    })
    // The worker these tests deliver as: alive, so its claims are its own.
    worker = await startHeartbeat(api.harness.deps.db, api.harness.deps.logger, {
      role: 'worker',
      queues: ['notifications'],
      concurrency: 1,
    })
    services = testDeliveryServices(api.harness, smtp, { now: () => new Date(), emailCap: 100_000, holder: worker.id })
    generate = buildTextGenerator(api.harness.config, api.harness.deps)
    victimCall = client(api.app, await userToken(victim.id))
    call = client(api.app, await userToken(attacker.id))
    // The victim: a zone, a confirmed address, a push subscription, a budget.
    for (const [who, as] of [
      [victim, victimCall],
      [attacker, call],
    ] as const) {
      assert.equal((await as('PATCH', '/v1/me', { timezone: 'Europe/Berlin' })).status, 200)
      const settings = {
        email: { address: who.address, enabled: true, minPriority: 'low' },
        push: { enabled: true, minPriority: 'low' },
        quietHours: null,
        digest: { enabled: false, at: '08:00' },
        ai: { enabled: true },
      }
      assert.equal((await as('PUT', '/v1/me/notification-settings', settings)).status, 200)
      assert.equal(await sendAddressConfirmation(api.harness.deps.db, services, who.id), 'sent')
      await followConfirmation(api.app, smtp, who.address)
    }
    await api.harness.deps.db
      .insertInto('push_subscriptions')
      .values({
        user_id: victim.id,
        endpoint: 'https://push.example.org/victim',
        p256dh: 'p256dh-key',
        auth: 'auth-key',
      })
      .execute()
    ids.budget = (
      await call('POST', '/v1/budgets', { category: 'food', amount: 300, currency: 'USD', period: 'month' })
    ).body.id
  })
  after(async () => {
    await worker?.stop()
    services?.email?.close()
    await api?.close()
    await gemini?.close()
    await smtp?.stop()
  })

  const db = () => api.harness.deps.db
  const mailsTo = (address: string) =>
    smtp.state.mails.filter((mail) => JSON.stringify(mail.to).toLowerCase().includes(address.toLowerCase()))
  const noServerError = (what: string, response: { status: number; body: unknown }) =>
    assert.ok(response.status < 500, `${what} → ${response.status} ${JSON.stringify(response.body)?.slice(0, 300)}`)

  /** The victim's state: nothing the attacker sends may change any of it. */
  const victimState = async () => ({
    me: (await victimCall('GET', '/v1/me')).body.timezone,
    settings: (await victimCall('GET', '/v1/me/notification-settings')).body.email,
    subscriptions: await db()
      .selectFrom('push_subscriptions')
      .select(['endpoint', 'p256dh'])
      .where('user_id', '=', victim.id)
      .execute(),
    alerts: (await victimCall('GET', '/v1/alerts?status=all')).body.items.length,
    mails: mailsTo(victim.address).length,
  })
  let unchanged: Awaited<ReturnType<typeof victimState>>

  it('time zones: no 5xx on the profile, a briefing or a budget, and only agreed zones are kept', async () => {
    unchanged = await victimState()
    await fc.assert(
      fc.asyncProperty(zones, async (timezone) => {
        const patched = await call('PATCH', '/v1/me', { timezone })
        noServerError(`PATCH /v1/me ${JSON.stringify(timezone)}`, patched)
        if (patched.status === 200) assert.match(patched.body.timezone, /^[A-Za-z][A-Za-z0-9_/+-]*$/)
        noServerError('POST /v1/briefings', await call('POST', '/v1/briefings'))
        noServerError('budget status', await call('GET', `/v1/budgets/${ids.budget}/status`))
      }),
      { numRuns: RUNS },
    )
    assert.deepEqual(await victimState(), unchanged)
  })

  it('push endpoints: no 5xx, only public push services kept, never another traveller’s endpoint', async () => {
    const keys = {
      p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XLjhUdp8YsMUM3Il8DV9k4',
      auth: 'tBHItJI5svbpez7KI4CCXg',
    }
    await fc.assert(
      fc.asyncProperty(fc.oneof(endpoints, fc.constant('https://push.example.org/victim')), async (endpoint) => {
        const subscribed = await call('POST', '/v1/push-subscriptions', { endpoint, keys })
        noServerError(`POST /v1/push-subscriptions ${JSON.stringify(endpoint)}`, subscribed)
        if (subscribed.status === 201) {
          assert.equal(endpointProblem(subscribed.body.endpoint, false), undefined, subscribed.body.endpoint)
          await call('DELETE', `/v1/push-subscriptions/${subscribed.body.id}`)
        }
      }),
      { numRuns: RUNS },
    )
    assert.deepEqual(await victimState(), unchanged)
  })

  it('email addresses and links: no 5xx, nothing confirmed or mailed for anyone else', async () => {
    // Another account of the attacker's, so their confirmed address stays for what follows.
    const other = client(api.app, await userToken())
    const settings = (address: unknown) => ({
      email: { address, enabled: true, minPriority: 'low' },
      push: { enabled: true, minPriority: 'low' },
      quietHours: null,
      digest: { enabled: false, at: '08:00' },
      ai: { enabled: true },
    })
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(addresses, fc.constant(victim.address)),
        fc.oneof(anyText(200), injected),
        async (address, token) => {
          const saved = await other('PUT', '/v1/me/notification-settings', settings(address))
          noServerError(`PUT settings ${JSON.stringify(address)}`, saved)
          if (saved.status === 200) assert.equal(saved.body.email.verified, false, 'a new address starts unconfirmed')
          const link = `/confirm-email?token=${percentEncoded(token)}`
          for (const method of ['GET', 'POST'] as const) {
            const followed = await api.app.inject({ method, url: link })
            assert.ok(followed.statusCode < 500, `${method} ${link} → ${followed.statusCode}`)
          }
        },
      ),
      { numRuns: RUNS },
    )
    assert.deepEqual(await victimState(), unchanged)
  })

  it("names in subjects: a vehicle's name reaches the email as one short printable line, to its own traveller only", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyText(200), injected), async (name) => {
        const vehicle = await call('POST', '/v1/vehicles', {
          name,
          fuelCapacityL: 80,
          consumptionLPer100Km: 12.5,
          odometerKm: 52_000,
        })
        noServerError(`POST /v1/vehicles ${JSON.stringify(name)}`, vehicle)
        if (vehicle.status !== 201) return
        // As the fuel monitor writes it.
        const alert = await db()
          .insertInto('alerts')
          .values({
            user_id: attacker.id,
            kind: 'fuel_low',
            priority: 'urgent',
            title: `Fuel at 8 % in ${vehicle.body.name}`,
            body: 'About 40 km of range left.',
            data: JSON.stringify({ threshold: 10, ruleVersion: 1, vehicleId: vehicle.body.id }),
            dedupe_key: randomUUID(),
          } as never)
          .returning('id')
          .executeTakeFirstOrThrow()
        const sentBefore = mailsTo(attacker.address).length
        await deliverAlerts(db(), services, api.harness.deps.logger, [alert.id])
        const mails = mailsTo(attacker.address)
        assert.equal(mails.length, sentBefore + 1)
        const subject = mails.at(-1)?.subject ?? ''
        assert.ok(Array.from(subject).length <= SUBJECT_MAX, subject)
        assert.doesNotMatch(subject, /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u)
        assert.equal(mails.at(-1)?.headers.get('bcc'), undefined)
      }),
      { numRuns: RUNS },
    )
    assert.deepEqual(await victimState(), unchanged)
  })

  it("model replies: a model's text is plain and bounded, or the template stands", async () => {
    const alert = {
      kind: 'budget_threshold' as const,
      priority: 'high' as const,
      title: 'Budget at 85 %',
      body: 'Food: 425 of 500 USD this month.',
      data: { threshold: 0.8, ruleVersion: 1, category: 'food' },
      userId: attacker.id,
    }
    await fc.assert(
      fc.asyncProperty(replies, async (reply) => {
        gemini.state.reply = () => reply
        const result = await generate(alertTextRequest(alert, { modelsAllowed: true, retriesLeft: false }))
        if (result.source === 'template') {
          assert.deepEqual(result.value, { title: alert.title, body: alert.body })
          return
        }
        for (const text of [result.value.title, result.value.body])
          assert.equal(plainTextProblem(text), undefined, text)
        assert.ok(result.value.title.length <= 80 && result.value.body.length <= 300)
      }),
      { numRuns: RUNS },
    )
    assert.deepEqual(await victimState(), unchanged)
  })
})
