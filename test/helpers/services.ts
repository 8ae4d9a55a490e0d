import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import pg from 'pg'
import { messageOf } from '../../src/platform/errors/error-message.js'
import { TEST_RUN } from './cleanup.js'

export async function canReachPostgres(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1500 })
  try {
    await client.connect()
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => undefined)
  }
}

export async function canReachRedis(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  client.on('error', () => undefined)
  try {
    await client.connect()
    await client.ping()
    return true
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

/** A name no other test uses; under `npm test` it carries the run's id (see cleanup.ts). */
export const uniqueName = (prefix: string) =>
  `${prefix}_${TEST_RUN ? `${TEST_RUN}_` : ''}${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`

function adminUrl(): string {
  const url = process.env.TEST_DATABASE_URL
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run the tests with `npm test`')
  return url
}

/** The server at `url` without its password, for messages. */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(not a URL)'
  }
}

/** An admin connection, or an error that says which server did not answer, at once. */
async function connectAdmin(): Promise<pg.Client> {
  const url = adminUrl()
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 })
  try {
    await client.connect()
    return client
  } catch (error) {
    await client.end().catch(() => undefined)
    throw new Error(`TEST_DATABASE_URL (${safeUrl(url)}) does not answer: ${messageOf(error)}`)
  }
}

/** A database of its own for one test file, dropped at the end. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = uniqueName('pam_test')
  const admin = await connectAdmin()
  await admin.query(`create database ${name}`)
  await admin.end()
  const url = new URL(adminUrl())
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const client = await connectAdmin()
      await client.query(`drop database if exists ${name} with (force)`)
      await client.end()
    },
  }
}

/** The Redis URL for Redis-mode tests, or why they are skipped. */
export function testRedis(): { url: string } | { skip: string } {
  const url = process.env.TEST_REDIS_URL
  if (url) return { url }
  if (process.env.PAM_TEST_REQUIRE_REDIS === '1') {
    throw new Error('PAM_TEST_REQUIRE_REDIS=1 but no Redis answers (set TEST_REDIS_URL or start Redis on 6379)')
  }
  return { skip: 'no Redis answers on TEST_REDIS_URL or 127.0.0.1:6379' }
}

export function testRedisUrl(): string {
  const redis = testRedis()
  if (!('url' in redis)) throw new Error(redis.skip)
  return redis.url
}

/** Deletes every key under a test's prefix. */
export async function dropRedisPrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url)
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
    if (keys.length > 0) await client.del(...keys)
    cursor = next
  } while (cursor !== '0')
  client.disconnect()
}
