import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { describe, it } from 'node:test'
import { SignJWT } from 'jose'
import { mintDevToken } from '../../src/http/auth/dev-token.js'
import { createTokenVerifier, rememberingVerifier, type TokenVerifier } from '../../src/http/auth/token-verifier.js'

const secret = randomBytes(32).toString('base64url')
const audience = 'authenticated'

/** The real verifier, with the number of signatures it checked. */
function counted() {
  const real = createTokenVerifier({ secret, audience })
  const counter = { checks: 0 }
  const verifier: TokenVerifier = {
    verify(token) {
      counter.checks += 1
      return real.verify(token)
    },
  }
  return { verifier, counter }
}

describe('remembering verifier', () => {
  it('checks a token once and then answers from memory until the token expires', async () => {
    const clock = { now: Date.now() }
    const { verifier, counter } = counted()
    const remembering = rememberingVerifier(verifier, () => clock.now)
    const userId = randomUUID()
    const token = await mintDevToken({ secret, userId, ttl: '1h', audience })
    for (let i = 0; i < 5; i++) assert.equal((await remembering.verify(token)).userId, userId)
    assert.equal(counter.checks, 1)
    // Past the memory's own limit (5 minutes) the signature is checked again.
    clock.now += 6 * 60_000
    await remembering.verify(token)
    assert.equal(counter.checks, 2)
  })

  it('never remembers a refused token, and checks an expired one again (and refuses it)', async () => {
    const { verifier, counter } = counted()
    const remembering = rememberingVerifier(verifier)
    const bad = `${await mintDevToken({ secret, userId: randomUUID(), ttl: '1h', audience })}x`
    await assert.rejects(remembering.verify(bad), /signature/)
    await assert.rejects(remembering.verify(bad), /signature/)
    assert.equal(counter.checks, 2)

    // Expired beyond the clock tolerance: refused every time, however recently it passed.
    const clock = { now: Date.now() }
    const expiring = rememberingVerifier(verifier, () => clock.now)
    const soon = await new SignJWT({ role: 'authenticated' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(randomUUID())
      .setAudience(audience)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 40)
      .sign(new TextEncoder().encode(secret))
    await assert.rejects(expiring.verify(soon), /expired/)
    await assert.rejects(expiring.verify(soon), /expired/)
  })

  it('does not hand a remembered user to a token that expired meanwhile', async () => {
    const clock = { now: Date.now() }
    const { verifier, counter } = counted()
    const remembering = rememberingVerifier(verifier, () => clock.now)
    const token = await mintDevToken({ secret, userId: randomUUID(), ttl: '10s', audience })
    await remembering.verify(token)
    clock.now += 11_000
    // The memory ends at the token's exp: the real check runs (jose's own clock still accepts it).
    await remembering.verify(token)
    assert.equal(counter.checks, 2)
  })
})
