import { createHash, hkdfSync, randomUUID } from 'node:crypto'
import { type JWTPayload, jwtVerify, SignJWT } from 'jose'

/** Long enough for an email read after a holiday; short enough that an old forwarded one dies. */
export const UNSUBSCRIBE_LINK_TTL = '60d'
/** A confirmation asked for now is followed now; one found next month confirms nothing. */
export const CONFIRMATION_LINK_TTL = '7d'

export interface UnsubscribeLinks {
  /** A one-click link that turns this traveller's email channel off, once, without signing in. */
  url(userId: string): Promise<string>
  /** The traveller and link id a token names, or undefined: forged, expired or for something else. */
  verify(token: string): Promise<{ userId: string; linkId: string } | undefined>
}

export interface ConfirmationLinks {
  /** A link that confirms `address` as this traveller's, sent to that address. */
  url(userId: string, address: string): Promise<string>
  /** The traveller a token names and a test of the address it was sent to, or undefined. */
  verify(token: string): Promise<{ userId: string; isAddress(address: string): boolean } | undefined>
}

/**
 * Links that act without signing in, for one purpose each: signed (HS256, jose) with a key
 * derived from the internal token (no new secret to manage; rotating the token retires every link
 * sent before), an audience per purpose so one kind of link never passes for another.
 */
function linkSigner(internalToken: string, purpose: 'unsubscribe' | 'confirm-email') {
  const key = new Uint8Array(hkdfSync('sha256', internalToken, 'pam', `${purpose}-link`, 32))
  const audience = `pam:${purpose}`
  return {
    sign: (userId: string, ttl: string, claims: JWTPayload = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(userId)
        .setAudience(audience)
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime(ttl)
        .sign(key),
    async verify(token: string): Promise<(JWTPayload & { sub: string; jti: string }) | undefined> {
      try {
        const { payload } = await jwtVerify(token, key, { audience, algorithms: ['HS256'] })
        return payload.sub && payload.jti ? (payload as JWTPayload & { sub: string; jti: string }) : undefined
      } catch {
        return undefined
      }
    },
  }
}

export function unsubscribeLinks(internalToken: string, baseUrl: string): UnsubscribeLinks {
  const signer = linkSigner(internalToken, 'unsubscribe')
  return {
    async url(userId) {
      return `${baseUrl}/unsubscribe?token=${await signer.sign(userId, UNSUBSCRIBE_LINK_TTL)}`
    },
    async verify(token) {
      const payload = await signer.verify(token)
      return payload && { userId: payload.sub, linkId: payload.jti }
    },
  }
}

// The token names the address by a digest: a link in a URL (and in logs along the way) does not carry it.
const digestOf = (address: string) => createHash('sha256').update(address.trim().toLowerCase()).digest('base64url')

export function confirmationLinks(internalToken: string, baseUrl: string): ConfirmationLinks {
  const signer = linkSigner(internalToken, 'confirm-email')
  return {
    async url(userId, address) {
      const token = await signer.sign(userId, CONFIRMATION_LINK_TTL, { adr: digestOf(address) })
      return `${baseUrl}/confirm-email?token=${token}`
    },
    async verify(token) {
      const payload = await signer.verify(token)
      if (!payload || typeof payload.adr !== 'string') return undefined
      const sentTo = payload.adr
      return { userId: payload.sub, isAddress: (address) => digestOf(address) === sentTo }
    },
  }
}
