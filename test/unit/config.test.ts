import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  ConfigError,
  describeMode,
  loadConfig,
  migrateOnStart,
  redisUrl,
  workerQueues,
} from '../../src/platform/config.js'

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env)
  } catch (error) {
    assert.ok(error instanceof ConfigError)
    return error.problems
  }
  assert.fail('expected the configuration to be refused')
}

const PRODUCTION = {
  ENVIRONMENT: 'production',
  DATABASE_URL: 'postgres://pam:secret-password@db.internal:5432/pam',
  JWT_SECRET: 'a-production-secret-that-is-long-enough-0123',
  INTERNAL_TOKEN: 'an-internal-token-that-is-long-enough-0123',
}

describe('configuration', () => {
  it('runs with nothing set: development, embedded database, Postgres-only mode, defaults from docs/api.md', () => {
    const config = loadConfig({})
    assert.equal(config.ENVIRONMENT, 'development')
    assert.equal(config.PORT, 8000)
    assert.equal(config.HOST, '127.0.0.1', 'a development server answers on loopback only')
    assert.equal(config.JWT_AUDIENCE, 'authenticated')
    assert.equal(config.WORKER_CONCURRENCY, 4)
    assert.equal(config.SHUTDOWN_TIMEOUT_MS, 25_000)
    assert.deepEqual(workerQueues(config), ['notifications', 'analytics', 'maintenance'])
    assert.equal(redisUrl(config), undefined)
    assert.equal(migrateOnStart(config), true)
    assert.ok(Object.isFrozen(config))
    assert.match(describeMode(config).database, /embedded/)
    assert.match(describeMode(config).mode, /postgres-only/)
  })

  it('allows push endpoints on private addresses (a local push service) only outside production', () => {
    assert.deepEqual(problems({ ...PRODUCTION, PUSH_ALLOW_PRIVATE_ENDPOINTS: 'true' }), [
      'PUSH_ALLOW_PRIVATE_ENDPOINTS must not be on in production (it lets travellers make PAM call into its network)',
    ])
    assert.equal(loadConfig(PRODUCTION).PUSH_ALLOW_PRIVATE_ENDPOINTS, undefined)
    assert.equal(loadConfig({ PUSH_ALLOW_PRIVATE_ENDPOINTS: 'true' }).PUSH_ALLOW_PRIVATE_ENDPOINTS, true)
  })

  it('names every production problem in one error', () => {
    const found = problems({ ENVIRONMENT: 'production' })
    assert.equal(found.length, 3)
    assert.match(found[0] ?? '', /^DATABASE_URL is required/)
    assert.match(found[1] ?? '', /^JWT_SECRET or JWT_JWKS_URL is required/)
    assert.match(found[2] ?? '', /^INTERNAL_TOKEN is required/)
  })

  it('refuses weak secrets and a wildcard origin in production, and reports schema problems alongside', () => {
    const found = problems({ ...PRODUCTION, JWT_SECRET: 'short', CORS_ORIGINS: 'https://app.example, *', PORT: 'http' })
    assert.deepEqual(found, [
      'PORT must be a whole number',
      'JWT_SECRET must be at least 32 characters in production',
      'CORS_ORIGINS must not contain "*" in production',
    ])
  })

  it('accepts a complete production configuration, listens on every interface and turns migrate-on-start off there', () => {
    const config = loadConfig({ ...PRODUCTION, CORS_ORIGINS: 'https://app.example,https://admin.example' })
    assert.deepEqual(config.CORS_ORIGINS, ['https://app.example', 'https://admin.example'])
    assert.equal(config.HOST, '0.0.0.0')
    assert.equal(loadConfig({ ENVIRONMENT: 'staging' }).HOST, '0.0.0.0')
    assert.equal(loadConfig({ ...PRODUCTION, HOST: '10.0.0.5' }).HOST, '10.0.0.5')
    assert.equal(migrateOnStart(config), false)
    assert.equal(migrateOnStart(loadConfig({ ...PRODUCTION, MIGRATE_ON_START: 'true' })), true)
  })

  it('names malformed URLs, numbers, enums and queue lists, never echoing a value', () => {
    const secretish = 'postgres://user:hunter2@host:notaport/db'
    const found = problems({
      DATABASE_URL: secretish,
      REDIS_URL: 'localhost:6379',
      WORKER_CONCURRENCY: '0',
      LOG_LEVEL: 'loud',
      WORKER_QUEUES: 'analytics,bogus',
    })
    assert.deepEqual(found, [
      'REDIS_URL must be a redis:// or rediss:// URL',
      'LOG_LEVEL must be one of: fatal, error, warn, info, debug, trace, silent',
      'WORKER_QUEUES must be a comma-separated list of notifications, analytics, maintenance',
      'WORKER_CONCURRENCY must be between 1 and 256',
      'DATABASE_URL is not a valid URL (check the host, port and escaping)',
    ])
    assert.ok(!found.join('\n').includes('hunter2'))
  })

  it('takes UPSTASH_REDIS_URL when REDIS_URL is unset, and treats empty variables as unset', () => {
    const config = loadConfig({ UPSTASH_REDIS_URL: 'rediss://default:pw@eu1.upstash.io:6379', REDIS_URL: '' })
    assert.equal(redisUrl(config), 'rediss://default:pw@eu1.upstash.io:6379')
    assert.match(describeMode(config).mode, /^redis/)
    assert.deepEqual(workerQueues(loadConfig({ WORKER_QUEUES: ' analytics , analytics,maintenance' })), [
      'analytics',
      'maintenance',
    ])
  })

  it('refuses JWT_SECRET together with JWT_JWKS_URL', () => {
    assert.deepEqual(
      problems({ JWT_SECRET: 'x'.repeat(40), JWT_JWKS_URL: 'https://ref.supabase.co/auth/v1/.well-known/jwks.json' }),
      ['set JWT_SECRET or JWT_JWKS_URL, not both'],
    )
  })

  it('refuses REDIS_CLUSTER with a REDIS_PREFIX in braces (one slot for every queue) or without a Redis URL', () => {
    assert.deepEqual(problems({ REDIS_CLUSTER: 'true', REDIS_URL: 'redis://node-1:6379', REDIS_PREFIX: '{pam}' }), [
      'REDIS_PREFIX must not contain { or } with REDIS_CLUSTER (PAM adds a hash tag per queue)',
    ])
    assert.deepEqual(problems({ REDIS_CLUSTER: '1' }), ['REDIS_CLUSTER is set without REDIS_URL'])
    assert.equal(loadConfig({ REDIS_CLUSTER: 'true', REDIS_URL: 'rediss://node-1:6379' }).REDIS_CLUSTER, true)
    // A single Redis keeps accepting the braces its deployments were told to use.
    assert.equal(loadConfig({ REDIS_URL: 'redis://redis:6379', REDIS_PREFIX: '{pam}' }).REDIS_PREFIX, '{pam}')
  })
})
