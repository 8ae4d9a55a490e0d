import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loadConfig } from '../../src/platform/config.js'
import { secretValues } from '../../src/platform/errors/error-tracking.js'
import { scrubEvent } from '../../src/platform/errors/scrub-event.js'

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl'
const INTERNAL = 'internal-token-0123456789abcdef0123'

describe("the error report scrub (Sentry's beforeSend)", () => {
  const event = {
    message: `failed with Authorization: Bearer ${JWT} calling postgres://pam:hunter2secret@db:5432/pam`,
    request: {
      method: 'POST',
      url: `https://api.example.com/v1/stream?access_token=${JWT}`,
      headers: {
        authorization: `Bearer ${JWT}`,
        cookie: 'pam_dashboard=abc',
        'user-agent': 'curl/8',
        'x-internal-token': INTERNAL,
      },
      data: '{"note":"my private note"}',
      cookies: { pam_dashboard: 'abc' },
      query_string: `access_token=${JWT}`,
    },
    user: { id: 'user-1', email: 'someone@example.com', ip_address: '10.0.0.1' },
    extra: {
      providerUrl: 'https://api.example.com/forecast?key=AIzaSyA-1234567890abcdefghijklmn&lat=1',
      anthropic: 'sk-ant-api03-abcdefghijklmnop',
      config: { INTERNAL_TOKEN: INTERNAL, apiKey: 'plain-value' },
    },
  }
  const scrubbed = scrubEvent(event, [INTERNAL])
  const text = JSON.stringify(scrubbed)

  it('keeps the method, the path and harmless headers of the request, and nothing else of it', () => {
    assert.deepEqual(scrubbed.request, {
      method: 'POST',
      url: 'https://api.example.com/v1/stream',
      headers: { 'user-agent': 'curl/8' },
    })
  })

  it('keeps the user as an id only', () => {
    assert.deepEqual(scrubbed.user, { id: 'user-1' })
  })

  it('removes tokens, passwords in URLs, provider keys and the deployment secrets wherever they are', () => {
    for (const secret of [
      JWT,
      'hunter2secret',
      'AIzaSyA-1234567890abcdefghijklmn',
      'sk-ant-api03',
      INTERNAL,
      'plain-value',
      'private note',
    ]) {
      assert.ok(!text.includes(secret), `still holds ${secret}`)
    }
    assert.match(scrubbed.message, /postgres:\/\/pam:\[redacted\]@db:5432\/pam/)
    assert.match(String(scrubbed.extra.providerUrl), /lat=1/)
  })

  it('leaves the original event untouched', () => {
    assert.equal(event.request.data, '{"note":"my private note"}')
  })
})

describe("the deployment's secrets in error reports", () => {
  it('are every variable the configuration marks secret, and the password of each secret URL', () => {
    const env = {
      DATABASE_URL: 'postgres://pam:pooled-pass@pooler:6543/pam',
      DATABASE_DIRECT_URL: 'postgres://pam:direct-pass@db:5432/pam',
      SMTP_URL: 'smtp://mailer:smtp-pass@mail.example.com:587',
      SMTP_PASSWORD: 'seeds-smtp-pass',
      VAPID_PUBLIC_KEY: 'vapid-public',
      VAPID_PRIVATE_KEY: 'vapid-private-key',
      INTERNAL_TOKEN: INTERNAL,
    }
    const secrets = secretValues(loadConfig(env))
    // A driver's message may quote a password without its URL, or a value without its name.
    const message = `refused: smtp-pass, direct-pass, pooled-pass, seeds-smtp-pass, vapid-private-key, ${INTERNAL}`
    const report = { user: { id: 'user-1' }, extra: { message } }
    const scrubbed = JSON.stringify(scrubEvent(report, secrets))
    for (const secret of [
      'smtp-pass',
      'direct-pass',
      'pooled-pass',
      'seeds-smtp-pass',
      'vapid-private-key',
      INTERNAL,
    ]) {
      assert.ok(!scrubbed.includes(secret), `still holds ${secret}: ${scrubbed}`)
    }
    assert.ok(!secrets.includes('vapid-public'), 'a public key is no secret')
  })
})
