import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose'
import { isUuid } from '../../platform/ids.js'

export interface VerifiedUser {
  userId: string
  /** The token's `exp`: a stream opened with it is closed then (4001). */
  expiresAt: Date
}

/** A token that is not a valid user token: the client gets 401 with this reason. */
export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError'
}

/** The key server could not be reached: not the client's fault (503). */
export class KeySetUnavailableError extends Error {
  override name = 'KeySetUnavailableError'
}

export interface TokenVerifier {
  verify(token: string): Promise<VerifiedUser>
}

export interface VerifierOptions {
  /** HS256 shared secret (Supabase's legacy JWT secret). */
  secret?: string
  /** Asymmetric keys (Supabase signing keys): ES256 or RS256 by `kid`. */
  jwksUrl?: string
  audience: string
  issuer?: string
}

// Clocks of the issuer and of PAM differ a little; more would stretch a token's life.
const CLOCK_TOLERANCE_S = 30

/**
 * Verifies bearer tokens as Supabase issues them. The algorithms are pinned to the key kind,
 * so an HS256 token signed with a public key can never pass where JWKS is expected; `exp` and
 * `sub` are required (Supabase's anon and service keys have no `sub` and are refused).
 */
export function createTokenVerifier(options: VerifierOptions): TokenVerifier {
  const common = {
    audience: options.audience,
    ...(options.issuer ? { issuer: options.issuer } : {}),
    requiredClaims: ['exp', 'sub'],
    clockTolerance: CLOCK_TOLERANCE_S,
  }
  const check = (payload: JWTPayload): VerifiedUser => {
    if (!isUuid(payload.sub)) throw new InvalidTokenError('the token\'s "sub" is not a user id')
    // jose checks "iat" only with a maximum age; a token issued in the future was not issued by a
    // clock we trust (or was minted to outlive a key rotation).
    if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + CLOCK_TOLERANCE_S) {
      throw new InvalidTokenError('the token\'s "iat" claim is in the future')
    }
    // exp is a required claim: jose refused the token without it.
    return { userId: payload.sub.toLowerCase(), expiresAt: new Date((payload.exp as number) * 1000) }
  }
  if (options.jwksUrl) {
    const keys = createRemoteJWKSet(new URL(options.jwksUrl), { timeoutDuration: 5_000, cooldownDuration: 30_000 })
    return {
      async verify(token) {
        try {
          const { payload } = await jwtVerify(token, keys, { ...common, algorithms: ['ES256', 'RS256'] })
          return check(payload)
        } catch (error) {
          throw explain(error)
        }
      },
    }
  }
  if (!options.secret) throw new Error('a JWT secret or a JWKS URL is needed to verify tokens')
  const key = new TextEncoder().encode(options.secret)
  return {
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, key, { ...common, algorithms: ['HS256'] })
        return check(payload)
      } catch (error) {
        throw explain(error)
      }
    },
  }
}

// A verified token is remembered this long at most, so a key taken out of the key set stops
// passing its tokens within this time even before they expire.
const REMEMBER_MS = 5 * 60_000
const REMEMBERED_MAX = 20_000

/**
 * Remembers tokens it verified until they expire (at most REMEMBER_MS): a client sends the same
 * token with every request, and checking its signature again each time was the largest single
 * cost of an authenticated request. A refused token is never remembered; an expired one is
 * verified again, and so refused. Bounded: forgets everything when full.
 */
export function rememberingVerifier(verifier: TokenVerifier, now: () => number = Date.now): TokenVerifier {
  const remembered = new Map<string, { user: VerifiedUser; until: number }>()
  return {
    async verify(token) {
      const hit = remembered.get(token)
      if (hit && hit.until > now()) return hit.user
      const user = await verifier.verify(token)
      if (remembered.size >= REMEMBERED_MAX) remembered.clear()
      remembered.set(token, { user, until: Math.min(user.expiresAt.getTime(), now() + REMEMBER_MS) })
      return user
    },
  }
}

function explain(error: unknown): Error {
  if (error instanceof InvalidTokenError) return error
  if (error instanceof errors.JWTExpired) return new InvalidTokenError('the token has expired')
  if (error instanceof errors.JWTClaimValidationFailed) {
    return new InvalidTokenError(`the token's "${error.claim}" claim is missing or not accepted`)
  }
  if (error instanceof errors.JOSEAlgNotAllowed)
    return new InvalidTokenError('the token is signed with an algorithm this server does not accept')
  if (error instanceof errors.JWKSNoMatchingKey) return new InvalidTokenError('no key matches the token\'s "kid"')
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return new InvalidTokenError('the token signature is not valid')
  if (
    error instanceof errors.JWKSTimeout ||
    error instanceof errors.JWKSInvalid ||
    error instanceof TypeError ||
    // jose reports a non-200 answer or a body that is not JSON from the key server only by message.
    (error instanceof errors.JOSEError && /JSON Web Key Set HTTP response/.test(error.message))
  ) {
    return new KeySetUnavailableError('the key set for verifying tokens could not be fetched')
  }
  if (error instanceof errors.JOSEError) return new InvalidTokenError('the token is malformed or not accepted')
  return new InvalidTokenError('the token is malformed')
}
