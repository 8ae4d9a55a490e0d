/**
 * `npm test`: finds the services the tests need, then runs every test file with Node's test
 * runner. PostgreSQL: TEST_DATABASE_URL, else the local server on 127.0.0.1:5432, else an
 * embedded PostgreSQL started here for the run. Redis: TEST_REDIS_URL, else 127.0.0.1:6379,
 * else the Redis-mode tests are skipped with the reason (PAM_TEST_REQUIRE_REDIS=1 fails instead).
 */
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { startEmbeddedPostgres } from '../src/db/embedded.js'
import { createLogger } from '../src/logger.js'
import { canReachPostgres, canReachRedis } from './helpers/services.js'

const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432/test'
const LOCAL_REDIS = 'redis://127.0.0.1:6379'

async function resolvePostgres() {
  if (process.env.TEST_DATABASE_URL) return { url: process.env.TEST_DATABASE_URL, label: 'TEST_DATABASE_URL' }
  if (await canReachPostgres(LOCAL_POSTGRES)) return { url: LOCAL_POSTGRES, label: 'local PostgreSQL on 5432' }
  const embedded = await startEmbeddedPostgres({
    home: '.pam/test',
    port: 54339,
    password: 'pam-tests',
    logger: createLogger({ level: 'warn', role: 'test' }),
    database: 'postgres',
  })
  return { url: embedded.url, label: 'embedded PostgreSQL (no server found)', stop: embedded.stop }
}

async function resolveRedis() {
  if (process.env.TEST_REDIS_URL) return { url: process.env.TEST_REDIS_URL, label: 'TEST_REDIS_URL' }
  if (await canReachRedis(LOCAL_REDIS)) return { url: LOCAL_REDIS, label: 'local Redis on 6379' }
  return { url: '', label: 'none found: Redis-mode tests are skipped' }
}

const files = ['unit', 'integration', 'faults'].flatMap((dir) =>
  readdirSync(join('test', dir))
    .filter((name) => name.endsWith('.test.ts'))
    .map((name) => join('test', dir, name)),
)
const postgres = await resolvePostgres()
const redis = await resolveRedis()
process.stdout.write(`PostgreSQL: ${postgres.label}\nRedis: ${redis.label}\n`)

// A test that hangs fails after 2 minutes; a file that never exits (a leaked connection keeps its
// event loop alive) fails the whole run after RUN_LIMIT_MS instead of holding CI until its limit.
const RUN_LIMIT_MS = 20 * 60_000
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    '--test-timeout=120000',
    '--test-reporter=spec',
    ...process.argv.slice(2),
    ...files,
  ],
  { stdio: 'inherit', env: { ...process.env, TEST_DATABASE_URL: postgres.url, TEST_REDIS_URL: redis.url } },
)
const guard = setTimeout(() => {
  process.stderr.write(
    `tests still running after ${RUN_LIMIT_MS / 60_000} minutes: a test file does not exit (leaked handle?)\n`,
  )
  child.kill('SIGKILL')
}, RUN_LIMIT_MS)
const code = await new Promise<number>((resolve) => child.on('exit', (status) => resolve(status ?? 1)))
clearTimeout(guard)
await postgres.stop?.()
process.exit(code)
