import { describe } from 'node:test'
import { buildDeps, type Deps } from '../../src/app/composition/deps.js'
import { syncMonitorInputs } from '../../src/monitoring/monitor-inputs.js'
import { type Config, loadConfig } from '../../src/platform/config.js'
import { migrateUp } from '../../src/platform/db/migrator.js'
import { createLogger } from '../../src/platform/logger.js'
import { tempFolder } from './cleanup.js'
import { createTestDatabase, dropRedisPrefix, testRedis, uniqueName } from './services.js'

export type Mode = 'postgres' | 'redis'

export const TEST_INTERNAL_TOKEN = 'test-internal-token-0123456789abcdef'
export const TEST_JWT_SECRET = 'test-jwt-secret-0123456789abcdef0123'

/**
 * Registers `suite` once per deployment mode. A Redis-mode suite is skipped, with the reason,
 * where no Redis answers (and fails instead under PAM_TEST_REQUIRE_REDIS=1).
 */
export function inBothModes(title: string, suite: (mode: Mode) => void) {
  describe(`${title} [postgres-only mode]`, () => suite('postgres'))
  const redis = testRedis()
  describe(`${title} [redis mode]`, 'skip' in redis ? { skip: redis.skip } : {}, () => suite('redis'))
}

/** The environment of a PAM process under test: its own database and Redis key prefix. */
export function testEnv(mode: Mode, databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  const redis = testRedis()
  return {
    DATABASE_URL: databaseUrl,
    ...(mode === 'redis' && 'url' in redis ? { REDIS_URL: redis.url } : {}),
    REDIS_PREFIX: uniqueName('pamtest'),
    JWT_SECRET: TEST_JWT_SECRET,
    INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PAM_HOME: tempFolder(),
    SHUTDOWN_TIMEOUT_MS: '5000',
    ...extra,
  }
}

export interface Harness {
  config: Config
  deps: Deps
  databaseUrl: string
  close(): Promise<void>
}

/** Real dependencies for one mode on a fresh, migrated database. */
export async function startHarness(mode: Mode, extra: Record<string, string> = {}): Promise<Harness> {
  const database = await createTestDatabase()
  const config = loadConfig(testEnv(mode, database.url, extra))
  const deps = await buildDeps(config, createLogger({ level: config.LOG_LEVEL, role: 'test' }))
  await migrateUp(deps.db)
  await syncMonitorInputs(deps.db)
  await deps.backend.migrate()
  return {
    config,
    deps,
    databaseUrl: database.url,
    async close() {
      await deps.close()
      const redis = testRedis()
      if (mode === 'redis' && 'url' in redis) await dropRedisPrefix(redis.url, config.REDIS_PREFIX)
      await database.drop()
    },
  }
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
