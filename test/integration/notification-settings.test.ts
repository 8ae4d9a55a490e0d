import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import { notificationSettingsOf } from '../../src/delivery/notification-settings-repository.js'
import { type ApiHarness, type Client, client, startApiHarness, userToken } from '../helpers/api.js'
import { inBothModes } from '../helpers/harness.js'

const CHANGED = {
  email: { address: 'ana@example.org', enabled: true, minPriority: 'medium' },
  push: { enabled: false, minPriority: 'high' },
  quietHours: { start: '22:00', end: '07:00' },
  digest: { enabled: true, at: '08:30' },
  ai: { enabled: false },
}

inBothModes('notification settings', (mode) => {
  let api: ApiHarness
  let call: Client
  let userId: string

  before(async () => {
    api = await startApiHarness(mode)
    userId = randomUUID()
    call = client(api.app, await userToken(userId))
  })
  after(() => api.close())

  it('starts at the defaults: push from medium, email from high, no quiet hours, AI on', async () => {
    const settings = await call('GET', '/v1/me/notification-settings')
    assert.equal(settings.status, 200)
    assert.deepEqual(settings.body, {
      email: { address: null, verified: false, enabled: true, minPriority: 'high' },
      push: { enabled: true, minPriority: 'medium' },
      quietHours: null,
      digest: { enabled: false, at: '08:00' },
      ai: { enabled: true },
    })
  })

  it('keeps what the traveller puts, for them only; the AI layer reads the same through notificationSettingsOf', async () => {
    const put = await call('PUT', '/v1/me/notification-settings', CHANGED)
    assert.equal(put.status, 200)
    // A new address is unconfirmed until its owner follows the link sent to it.
    const saved = { ...CHANGED, email: { ...CHANGED.email, verified: false } }
    assert.deepEqual(put.body, saved)
    assert.deepEqual((await call('GET', '/v1/me/notification-settings')).body, saved)
    assert.equal((await notificationSettingsOf(api.harness.deps.db, userId)).ai.enabled, false)

    const other = client(api.app, await userToken(randomUUID()))
    assert.deepEqual((await other('GET', '/v1/me/notification-settings')).body.ai, { enabled: true })

    const back = await call('PUT', '/v1/me/notification-settings', { ...CHANGED, quietHours: null })
    assert.equal(back.body.quietHours, null)
  })

  it('refuses a bad time, a bad address, an unknown field or a missing section, naming the field', async () => {
    const refused = async (body: unknown, field: string) => {
      const response = await call('PUT', '/v1/me/notification-settings', body)
      assert.equal(response.status, 400, JSON.stringify(response.body))
      assert.ok(
        response.body.details.some((detail: { field: string }) => detail.field === field),
        `${field} in ${JSON.stringify(response.body.details)}`,
      )
    }
    await refused({ ...CHANGED, quietHours: { start: '25:00', end: '07:00' } }, 'quietHours.start')
    await refused({ ...CHANGED, digest: { enabled: true, at: '8:00' } }, 'digest.at')
    await refused({ ...CHANGED, email: { ...CHANGED.email, address: 'not an email' } }, 'email.address')
    await refused({ ...CHANGED, push: { enabled: true, minPriority: 'loud' } }, 'push.minPriority')
    await refused({ ...CHANGED, sms: {} }, 'sms')
    await refused({ ...CHANGED, ai: undefined }, 'ai')
    await refused({ ...CHANGED, quietHours: { start: '22:00', end: '22:00' } }, 'quietHours.end')
    // nothing of the refused bodies was kept
    assert.deepEqual((await call('GET', '/v1/me/notification-settings')).body.push, CHANGED.push)
  })
})
