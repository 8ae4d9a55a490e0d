import { parseArgs } from 'node:util'
import { mintDevToken } from '../../http/auth/dev-token.js'
import { type Config, isProduction } from '../../platform/config.js'
import { isUuid } from '../../platform/ids.js'
import { resolveSecrets } from '../composition/deps.js'
import { UsageError } from './ops-deps.js'

const TTL = /^\d+\s*(s|sec|m|min|h|hr|hour|d|day)s?$/i

/**
 * `pam token --user <uuid> [--ttl 1h]`: a dev user token from the configured HS256 secret.
 * `pam token --internal`: the internal token (metrics, queue dashboard), from INTERNAL_TOKEN or
 * the dev secret in PAM_HOME, so nobody has to open secrets.json.
 */
export async function runTokenCommand(config: Config, args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { user: { type: 'string' }, ttl: { type: 'string', default: '1h' }, internal: { type: 'boolean' } },
    strict: true,
  })
  if (isProduction(config) && values.internal)
    throw new UsageError('refusing to print the internal token in production: it is in your INTERNAL_TOKEN setting')
  if (values.internal) {
    process.stdout.write(`${(await resolveSecrets(config)).secrets.internalToken}\n`)
    return
  }
  process.stdout.write(`${await mintUserToken(config, values.user, values.ttl)}\n`)
}

/**
 * A dev token for one traveller from the configured HS256 secret (`pam token --user`, `pam watch
 * --user`): refused in production and where tokens are verified with JWKS keys PAM does not hold.
 */
export async function mintUserToken(config: Config, user: string | undefined, ttl = '1h'): Promise<string> {
  if (isProduction(config))
    throw new UsageError('refusing to mint tokens in production: users sign in with your identity provider')
  if (config.JWT_JWKS_URL) {
    throw new UsageError(
      'tokens are verified with JWT_JWKS_URL: mint them with the identity provider that owns those keys',
    )
  }
  if (!isUuid(user)) throw new UsageError('--user must be a user id (a UUID)')
  if (!TTL.test(ttl)) throw new UsageError('--ttl must be a duration such as 30m, 1h or 7d')
  const { secrets } = await resolveSecrets(config)
  return mintDevToken({
    secret: secrets.jwtSecret ?? '',
    userId: user.toLowerCase(),
    ttl,
    audience: config.JWT_AUDIENCE,
    issuer: config.JWT_ISSUER,
  })
}
