import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { type ApiHarness, startApiHarness, userToken } from '../helpers/api.js'
import { TEST_JWT_SECRET } from '../helpers/harness.js'
import { spawnPam } from '../helpers/process.js'

const ISSUER = 'https://abcdefghij.supabase.co/auth/v1'
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

async function status(api: ApiHarness, token: string | undefined) {
  const response = await api.app.inject({
    url: '/v1/me',
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  })
  return { status: response.statusCode, challenge: response.headers['www-authenticate'], body: response.json() }
}

describe('authentication with the HS256 secret (Supabase legacy JWT secret)', () => {
  let api: ApiHarness
  before(async () => {
    api = await startApiHarness('postgres', { JWT_ISSUER: ISSUER })
  })
  after(() => api.close())

  const valid = (options: Parameters<typeof userToken>[1] = {}) =>
    userToken(randomUUID(), { ...options, claims: { iss: ISSUER, ...options.claims } })

  it('accepts a Supabase user token and creates the user', async () => {
    const result = await status(api, await valid())
    assert.equal(result.status, 200)
  })

  it('refuses every token that is not a valid user token with 401 and WWW-Authenticate', async () => {
    const now = Math.floor(Date.now() / 1000)
    const cases: [string, string | undefined][] = [
      ['no token', undefined],
      ['garbage', 'not.a.token'],
      [
        'alg none',
        `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: randomUUID(), aud: 'authenticated', iss: ISSUER, exp: now + 600 })}.`,
      ],
      ['wrong secret', await valid({ secret: 'another-secret-entirely-0123456789abcdef' })],
      ['expired', await valid({ claims: { exp: now - 120 } })],
      ['no exp', await valid({ omit: ['exp'] })],
      ['wrong aud', await valid({ claims: { aud: 'anon' } })],
      ['foreign iss', await valid({ claims: { iss: 'https://evil.example/auth/v1' } })],
      ['no sub (an anon or service key)', await valid({ omit: ['sub'], claims: { role: 'anon' } })],
      ['a sub that is not a user id', await userToken('service_role', { claims: { iss: ISSUER } })],
    ]
    for (const [what, token] of cases) {
      const result = await status(api, token)
      assert.equal(result.status, 401, `${what}: ${result.status} ${JSON.stringify(result.body)}`)
      assert.match(String(result.challenge), /^Bearer realm="pam"/, `${what}: WWW-Authenticate`)
      assert.equal(result.body.error, 'unauthorized')
    }
  })

  it('accepts a token a few seconds past exp (clock skew), not minutes', async () => {
    const now = Math.floor(Date.now() / 1000)
    assert.equal((await status(api, await valid({ claims: { exp: now - 5 } }))).status, 200)
  })

  it('pam token mints a token this server accepts, and refuses in production', async () => {
    const user = randomUUID()
    const env = { JWT_SECRET: TEST_JWT_SECRET, JWT_ISSUER: ISSUER, LOG_LEVEL: 'silent' }
    const minted = spawnPam(['token', '--user', user, '--ttl', '10m'], env)
    assert.equal(await minted.exited, 0, minted.output())
    const token = minted.output().trim().split('\n').at(-1) ?? ''
    const me = await api.app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } })
    assert.equal(me.statusCode, 200)
    assert.equal(me.json().id, user)

    const refused = spawnPam(['token', '--user', user], {
      ENVIRONMENT: 'production',
      DATABASE_URL: 'postgres://pam:secret@db.internal/pam',
      JWT_SECRET: 'a-production-secret-that-is-long-enough-0123',
      INTERNAL_TOKEN: 'an-internal-token-that-is-long-enough-0123',
    })
    assert.equal(await refused.exited, 2)
    assert.match(refused.output(), /refusing to mint tokens in production/)
  })
})

describe('authentication with a JWKS URL (Supabase signing keys)', () => {
  let api: ApiHarness
  let jwks: Server
  let keys: Awaited<ReturnType<typeof generateKeyPair>>
  let serving = true

  before(async () => {
    keys = await generateKeyPair('ES256', { extractable: true })
    const publicJwk = { ...(await exportJWK(keys.publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' }
    jwks = createServer((_request, response) => {
      if (!serving) {
        response.writeHead(503).end()
        return
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }))
    })
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve))
    const { port } = jwks.address() as { port: number }
    api = await startApiHarness('postgres', {
      JWT_SECRET: '',
      JWT_JWKS_URL: `http://127.0.0.1:${port}/auth/v1/.well-known/jwks.json`,
    })
  })
  after(async () => {
    await api.close()
    jwks.close()
  })

  const signed = (kid: string) =>
    new SignJWT({ sub: randomUUID(), aud: 'authenticated', role: 'authenticated' })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .setExpirationTime('5m')
      .sign(keys.privateKey)

  it('accepts a token signed by a key of the set', async () => {
    assert.equal((await status(api, await signed('key-1'))).status, 200)
  })

  it('refuses an unknown kid and an HS256 token (algorithm confusion)', async () => {
    assert.equal((await status(api, await signed('key-2'))).status, 401)
    // HS256 keyed with anything (here the shared test secret) must never pass where JWKS is expected.
    const hs = await userToken()
    const result = await status(api, hs)
    assert.equal(result.status, 401)
    assert.match(result.body.message, /algorithm/)
  })

  it('answers 503, not 401, when the key set cannot be fetched', async () => {
    serving = false
    try {
      const fresh = await startApiHarness('postgres', {
        JWT_SECRET: '',
        JWT_JWKS_URL: `http://127.0.0.1:${(jwks.address() as { port: number }).port}/down/jwks.json`,
      })
      try {
        const result = await status(fresh, await signed('key-1'))
        assert.equal(result.status, 503)
        assert.equal(result.body.error, 'unavailable')
      } finally {
        await fresh.close()
      }
    } finally {
      serving = true
    }
  })
})
