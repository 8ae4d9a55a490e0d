import { hkdfSync, randomUUID } from 'node:crypto'
import { jwtVerify, SignJWT } from 'jose'

const AUDIENCE = 'pam:unsubscribe'
/** Long enough for an email read after a holiday; short enough that an old forwarded one dies. */
export const UNSUBSCRIBE_LINK_TTL = '60d'

export interface UnsubscribeLinks {
  /** A one-click link that turns this traveller's email channel off, once, without signing in. */
  url(userId: string): Promise<string>
  /** The traveller and link id a token names, or undefined: forged, expired or for something else. */
  verify(token: string): Promise<{ userId: string; linkId: string } | undefined>
}

/**
 * Signed (HS256, jose) with a key derived from the internal token: no new secret to manage, and
 * rotating the internal token retires every link sent before.
 */
export function unsubscribeLinks(internalToken: string, baseUrl: string): UnsubscribeLinks {
  const key = new Uint8Array(hkdfSync('sha256', internalToken, 'pam', 'unsubscribe-link', 32))
  return {
    async url(userId) {
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(userId)
        .setAudience(AUDIENCE)
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime(UNSUBSCRIBE_LINK_TTL)
        .sign(key)
      return `${baseUrl}/unsubscribe?token=${token}`
    },
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, key, { audience: AUDIENCE, algorithms: ['HS256'] })
        return payload.sub && payload.jti ? { userId: payload.sub, linkId: payload.jti } : undefined
      } catch {
        return undefined
      }
    },
  }
}
