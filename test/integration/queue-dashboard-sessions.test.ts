import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type ApiHarness, startApiHarness } from '../helpers/api.js'
import { TEST_INTERNAL_TOKEN } from '../helpers/harness.js'

const HOST = 'pam.test:8443'
const SAME_ORIGIN = `https://${HOST}`
const FORM = { 'content-type': 'application/x-www-form-urlencoded', host: HOST }

// The dashboard's sessions and checks do not depend on the mode.
describe('the queue dashboard: opaque sessions, same-origin changes, security headers, throttled sign-in', () => {
  let api: ApiHarness

  before(async () => {
    api = await startApiHarness('postgres')
  })
  after(() => api.close())

  const signIn = async (address: string) => {
    const response = await api.app.inject({
      method: 'POST',
      url: '/admin/login',
      remoteAddress: address,
      payload: `token=${encodeURIComponent(TEST_INTERNAL_TOKEN)}`,
      headers: FORM,
    })
    assert.equal(response.statusCode, 303)
    return String(response.headers['set-cookie']).split(';')[0] as string
  }
  const queues = (cookie: string) =>
    api.app.inject({ url: '/admin/queues/api/queues', headers: { cookie, host: HOST, accept: 'application/json' } })

  it('keeps an opaque session in the cookie, never the token, and signing out revokes it', async () => {
    const cookie = await signIn('192.0.2.1')
    assert.ok(!cookie.includes(TEST_INTERNAL_TOKEN) && !cookie.includes(encodeURIComponent(TEST_INTERNAL_TOKEN)))
    assert.equal((await queues(cookie)).statusCode, 200)
    const out = await api.app.inject({
      method: 'POST',
      url: '/admin/logout',
      headers: { cookie, host: HOST, origin: SAME_ORIGIN },
    })
    assert.equal(out.statusCode, 303)
    assert.equal((await queues(cookie)).statusCode, 401, 'a copy of the cookie opens nothing after sign-out')
  })

  it('refuses a change made with the session from another origin, or with none', async () => {
    const cookie = await signIn('192.0.2.2')
    const pause = (origin?: string) =>
      api.app.inject({
        method: 'PUT',
        url: '/admin/queues/api/queues/analytics/pause',
        headers: { cookie, host: HOST, ...(origin ? { origin } : {}) },
      })
    assert.equal((await pause('https://pam.test:9999')).statusCode, 403, 'another port of the same host')
    assert.equal((await pause('https://evil.pam.test:8443')).statusCode, 403, 'a sibling subdomain')
    assert.equal((await pause()).statusCode, 403, 'no Origin')
    assert.ok((await pause(SAME_ORIGIN)).statusCode < 300)
    await api.app.inject({
      method: 'PUT',
      url: '/admin/queues/api/queues/analytics/resume',
      headers: { cookie, host: HOST, origin: SAME_ORIGIN },
    })
  })

  it('sends security headers on /admin', async () => {
    const page = await api.app.inject({ url: '/admin/login' })
    assert.ok(page.headers['content-security-policy'])
    assert.equal(page.headers['x-content-type-options'], 'nosniff')
    assert.ok(page.headers['x-frame-options'])
  })

  it('answers malformed sign-ins with 401 and throttles sign-in per address', async () => {
    const attempt = (payload: string, type: string, address = '192.0.2.3') =>
      api.app.inject({
        method: 'POST',
        url: '/admin/login',
        remoteAddress: address,
        payload,
        headers: { 'content-type': type },
      })
    assert.equal((await attempt('token=a&token=b', 'application/x-www-form-urlencoded')).statusCode, 401)
    assert.equal((await attempt('{"token":5}', 'application/json')).statusCode, 401)
    assert.equal((await attempt('{"token":{"a":1}}', 'application/json')).statusCode, 401)
    assert.equal((await attempt('null', 'application/json')).statusCode, 401)
    assert.equal(
      (await api.app.inject({ method: 'POST', url: '/admin/login', remoteAddress: '192.0.2.3' })).statusCode,
      401,
    )
    const statuses: number[] = []
    for (let i = 0; i < 10; i++) {
      statuses.push((await attempt('token=guess', 'application/x-www-form-urlencoded', '192.0.2.4')).statusCode)
    }
    assert.deepEqual(statuses, Array(10).fill(401))
    assert.equal((await attempt('token=guess', 'application/x-www-form-urlencoded', '192.0.2.4')).statusCode, 429)
  })
})
