import { SignJWT } from 'jose'

/**
 * A user token shaped like Supabase's (aud, role, sub, exp), signed with the configured HS256
 * secret, for local development and tests. `ttl` is jose's duration syntax, e.g. "1h" or "30m".
 */
export function mintDevToken(options: {
  secret: string
  userId: string
  ttl: string
  audience: string
  issuer?: string
}): Promise<string> {
  const jwt = new SignJWT({ role: 'authenticated' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.userId)
    .setAudience(options.audience)
    .setIssuedAt()
    .setExpirationTime(options.ttl)
  if (options.issuer) jwt.setIssuer(options.issuer)
  return jwt.sign(new TextEncoder().encode(options.secret))
}
