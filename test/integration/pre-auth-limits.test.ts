import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { type ApiHarness, startApiHarness, userToken } from '../helpers/api.js'
import { inBothModes } from '../helpers/harness.js'

const LIMIT = 20

// The counters live in Redis in Redis mode and in the process otherwise: both are exercised.
inBothModes('requests without a valid token are rate limited per client address', (mode) => {
  let api: ApiHarness

  before(async () => {
    api = await startApiHarness(mode, { RATE_LIMIT_PER_MINUTE: String(LIMIT) })
  })
  after(() => api.close())

  const me = (authorization?: string, address = '198.51.100.7') =>
    api.app.inject({
      url: '/v1/me',
      remoteAddress: address,
      headers: authorization === undefined ? {} : { authorization },
    })

  it('answers 429 with Retry-After once an address has sent the limit of failed attempts', async () => {
    const wrongSignature = await userToken(undefined, { secret: 'another-secret-0123456789abcdef0123456' })
    const attempts = [undefined, 'Bearer x.y.z', `Bearer ${wrongSignature}`]
    const statuses: number[] = []
    for (let i = 0; i < LIMIT + 5; i++) statuses.push((await me(attempts[i % attempts.length])).statusCode)
    assert.deepEqual(statuses.slice(0, LIMIT), Array(LIMIT).fill(401))
    assert.deepEqual(statuses.slice(LIMIT), Array(5).fill(429))
    const refused = await me()
    assert.equal(refused.statusCode, 429)
    assert.equal(refused.json().error, 'rate_limited')
    assert.ok(Number(refused.headers['retry-after']) > 0)

    // Another address is not affected, and a valid token is never counted against its address.
    assert.equal((await me(undefined, '198.51.100.8')).statusCode, 401)
    const token = await userToken()
    assert.equal((await me(`Bearer ${token}`)).statusCode, 200)
    const another = await userToken()
    for (let i = 0; i < LIMIT; i++) assert.equal((await me(`Bearer ${another}`, '198.51.100.9')).statusCode, 200)
    assert.equal((await me(undefined, '198.51.100.9')).statusCode, 401)
  })

  it('takes the Bearer scheme in any case (RFC 6750)', async () => {
    const token = await userToken()
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      assert.equal((await me(`${scheme} ${token}`, '198.51.100.10')).statusCode, 200, scheme)
    }
  })
})
