import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TEST_INTERNAL_TOKEN, TEST_JWT_SECRET } from '../helpers/harness.js'
import { freePort } from '../helpers/process.js'
import { uniqueName } from '../helpers/services.js'

/** The environment of a PAM process in a fault test, with its own PAM_HOME removed by `remove`. */
export async function faultEnv(
  services: { databaseUrl: string; redisUrl?: string },
  extra: Record<string, string> = {},
) {
  const home = mkdtempSync(join(tmpdir(), 'pam-faults-home-'))
  // Providers on a closed port fail at once: alerts are raised without their stations.
  const closed = `http://127.0.0.1:${await freePort()}`
  const env: Record<string, string> = {
    DATABASE_URL: services.databaseUrl,
    ...(services.redisUrl ? { REDIS_URL: services.redisUrl } : {}),
    REDIS_PREFIX: uniqueName('pamfault'),
    JWT_SECRET: TEST_JWT_SECRET,
    INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    PAM_HOME: home,
    PLACES_API_URL: closed,
    WEATHER_API_URL: closed,
    SHUTDOWN_TIMEOUT_MS: '5000',
    ...extra,
  }
  return { env, remove: () => rmSync(home, { recursive: true, force: true }) }
}
