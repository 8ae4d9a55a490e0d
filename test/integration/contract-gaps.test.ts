import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { request } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { SignJWT } from 'jose'
import { ConfigError, loadConfig } from '../../src/platform/config.js'
import { type ApiHarness, listenLocally, startApiHarness, userToken } from '../helpers/api.js'
import { TEST_JWT_SECRET } from '../helpers/harness.js'

// Answers of the HTTP layer, the same in both modes.
describe('the smaller contract gaps', () => {
  let api: ApiHarness
  let token: string

  before(async () => {
    api = await startApiHarness('postgres', { CORS_ORIGINS: 'https://app.example.com' })
    token = await userToken()
  })
  after(() => api.close())

  it('answers a plain GET of /v1/stream with a JSON 426, not an empty 404', async () => {
    const response = await api.app.inject({ url: '/v1/stream', headers: { authorization: `Bearer ${token}` } })
    assert.equal(response.statusCode, 426)
    assert.equal(response.headers.upgrade, 'websocket')
    assert.equal(response.json().error, 'upgrade_required')
  })

  it('does not answer an OPTIONS without Origin with a text/plain 400', async () => {
    const response = await api.app.inject({
      method: 'OPTIONS',
      url: '/v1/vehicles',
      headers: { 'access-control-request-method': 'POST' },
    })
    assert.ok(response.statusCode < 400, `${response.statusCode} ${response.body}`)
    assert.equal(response.headers['access-control-allow-origin'], undefined)
  })

  it('answers a 100 KB header with a 431 in the error shape', async () => {
    const base = await listenLocally(api.app)
    const [host, port] = base.split(':')
    const answer = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const sent = request({ host, port, path: '/health', headers: { 'x-big': 'a'.repeat(100_000) } }, (response) => {
        let body = ''
        response.on('data', (chunk) => {
          body += chunk
        })
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type']), body }),
        )
      })
      sent.on('error', reject)
      sent.end()
    })
    assert.equal(answer.status, 431)
    assert.match(answer.type, /application\/json/)
    assert.equal(JSON.parse(answer.body).error, 'header_too_large')
  })

  it('refuses a token issued in the future', async () => {
    const tenYears = Math.floor(Date.now() / 1000) + 10 * 365 * 86_400
    // Signed here: the helper always stamps the current time as iat.
    const future = await new SignJWT({ sub: randomUUID(), aud: 'authenticated', role: 'authenticated' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt(tenYears)
      .setExpirationTime(tenYears + 3_600)
      .sign(new TextEncoder().encode(TEST_JWT_SECRET))
    const response = await api.app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${future}` } })
    assert.equal(response.statusCode, 401)
    assert.match(response.json().message, /iat/)
  })

  it('refuses a CORS_ORIGINS entry with a trailing slash, which would never match', () => {
    assert.throws(
      () => loadConfig({ CORS_ORIGINS: 'https://app.example.com/' }),
      (error: unknown) => error instanceof ConfigError && error.problems.some((p) => p.startsWith('CORS_ORIGINS')),
    )
    assert.deepEqual(loadConfig({ CORS_ORIGINS: 'https://app.example.com:8443' }).CORS_ORIGINS, [
      'https://app.example.com:8443',
    ])
  })
})
