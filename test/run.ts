/**
 * `npm test`: finds the services the tests need, then runs every test file with Node's test
 * runner. PostgreSQL: TEST_DATABASE_URL, else the local server on 127.0.0.1:5432, else an
 * embedded PostgreSQL started here for the run. Redis: TEST_REDIS_URL, else 127.0.0.1:6379,
 * else the Redis-mode tests are skipped with the reason (PAM_TEST_REQUIRE_REDIS=1 fails instead).
 * A URL given that does not answer ends the run at once, saying so. After the tests, anything
 * a test left behind (processes, databases, Redis keys, folders) is removed and named.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, readdirSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { run } from 'node:test'
import { spec } from 'node:test/reporters'
import { pathToFileURL } from 'node:url'
import { startEmbeddedPostgres } from '../src/platform/db/embedded.js'
import { createLogger } from '../src/platform/logger.js'
import { TEST_FOLDER_PREFIX } from './helpers/cleanup.js'
import { dropRunDatabases, dropRunRedisKeys, killRunProcesses, removeRunFolders } from './helpers/leftovers.js'
import { freePort } from './helpers/process.js'
import { canReachPostgres, canReachRedis, safeUrl } from './helpers/services.js'
import { collectSummary } from './summary.js'

const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432/test'
const LOCAL_REDIS = 'redis://127.0.0.1:6379'
const RUN = Date.now().toString(36)
const startedAt = performance.now()
const loadAtStart = loadavg()[0] ?? 0

function stop(message: string): never {
  process.stderr.write(`npm test: ${message}\n`)
  process.exit(1)
}

async function resolvePostgres() {
  const given = process.env.TEST_DATABASE_URL
  if (given) {
    if (!(await canReachPostgres(given)))
      stop(
        `TEST_DATABASE_URL (${safeUrl(given)}) does not answer; start that server, or unset it to use 127.0.0.1:5432 or an embedded PostgreSQL`,
      )
    return { url: given, label: `TEST_DATABASE_URL (${safeUrl(given)})` }
  }
  if (await canReachPostgres(LOCAL_POSTGRES)) return { url: LOCAL_POSTGRES, label: 'local PostgreSQL on 5432' }
  // In the temp directory, not the clone: as root the server runs as `postgres`, which could not
  // enter a clone under /root. The folder carries the run's id, so it is removed at the end.
  const home = join(tmpdir(), `${TEST_FOLDER_PREFIX}${RUN}-postgres`)
  mkdirSync(home, { recursive: true })
  chmodSync(home, 0o755)
  process.stdout.write('PostgreSQL: none found on 127.0.0.1:5432, starting an embedded one for this run\n')
  const embedded = await startEmbeddedPostgres({
    home,
    port: await freePort(),
    password: 'pam-tests',
    logger: createLogger({ level: 'warn', role: 'test' }),
    database: 'postgres',
  })
  return { url: embedded.url, label: 'embedded PostgreSQL (no server found)', stop: embedded.stop }
}

async function resolveRedis() {
  const given = process.env.TEST_REDIS_URL
  if (given) {
    if (!(await canReachRedis(given)))
      stop(`TEST_REDIS_URL (${safeUrl(given)}) does not answer; start that server, or unset it`)
    return { url: given, label: `TEST_REDIS_URL (${safeUrl(given)})` }
  }
  if (await canReachRedis(LOCAL_REDIS)) return { url: LOCAL_REDIS, label: 'local Redis on 6379' }
  return { url: '', label: 'none found: the Redis-mode tests are skipped (named in the summary)' }
}

// `npm test -- test/integration/cli.test.ts` runs only the files named.
const named = process.argv.slice(2).filter((arg) => arg.endsWith('.test.ts'))
const files =
  named.length > 0
    ? named
    : ['unit', 'integration', 'faults', 'chaos'].flatMap((dir) =>
        readdirSync(join('test', dir))
          .filter((name) => name.endsWith('.test.ts'))
          .map((name) => join('test', dir, name)),
      )
const redis = await resolveRedis()
const postgres = await resolvePostgres()
process.stdout.write(`PostgreSQL: ${postgres.label}\nRedis: ${redis.label}\n`)

// Compiled once for the run (no type check: `npm run typecheck` does that): test processes
// load it in a third of the time tsx takes (see helpers/process.ts).
execFileSync(
  process.execPath,
  [join('node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--noCheck'],
  {
    stdio: 'inherit',
  },
)
process.env.PAM_TEST_CLI = pathToFileURL(resolve('dist', 'app', 'cli.js')).href
// The console's files, as `npm start` builds them (only when a source changed): its tests load the pages.
execFileSync(process.execPath, [join('console', 'build.mjs'), '--if-stale'], { stdio: 'inherit' })

// Node applies the timeout to each whole file, not to each test: a file that hangs fails after
// FILE_LIMIT_MS; a file that never exits (a leaked handle) fails the run after RUN_LIMIT_MS, set
// well above a whole run on a loaded 2-core machine (about 20 minutes at a load average of 15).
const FILE_LIMIT_MS = 5 * 60_000
const RUN_LIMIT_MS = 40 * 60_000
Object.assign(process.env, { TEST_DATABASE_URL: postgres.url, TEST_REDIS_URL: redis.url, PAM_TEST_RUN: RUN })
const controller = new AbortController()
// Ctrl-C reaches the test files too (same terminal group); the run then cleans up as usual.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => controller.abort())
const guard = setTimeout(() => {
  process.stderr.write(
    `tests still running after ${RUN_LIMIT_MS / 60_000} minutes: a test file does not exit (leaked handle?)\n`,
  )
  controller.abort()
}, RUN_LIMIT_MS)
// Each file runs in a process of its own, started with this process's flags (--import tsx).
const tests = run({
  files,
  concurrency: 2,
  timeout: FILE_LIMIT_MS,
  signal: controller.signal,
})
const summary = collectSummary(tests)
for await (const line of tests.compose(new spec())) process.stdout.write(line)
clearTimeout(guard)
process.stdout.write(summary.text())

// Databases and keys while the servers still answer; processes once this run's own embedded
// server (whose data folder carries the run's id too) has stopped.
const leftovers: Array<[string, string[]]> = []
leftovers.push(['databases', await dropRunDatabases(postgres.url, RUN).catch((error) => [`(${error.message})`])])
leftovers.push(['Redis keys', await dropRunRedisKeys(redis.url, RUN).catch((error) => [`(${error.message})`])])
await postgres.stop?.()
leftovers.push(['processes', killRunProcesses(RUN)])
leftovers.push(['folders', removeRunFolders(RUN).filter((folder) => !folder.endsWith(`${RUN}-postgres`))])
for (const [what, names] of leftovers) {
  if (names.length > 0) process.stdout.write(`left behind by tests, now removed: ${what}: ${names.join(', ')}\n`)
}
const seconds = Math.round((performance.now() - startedAt) / 1000)
process.stdout.write(
  `wall time ${seconds} s (Node ${process.version}, ${cpus().length} CPUs, load average ${loadAtStart.toFixed(1)} at start, ${(loadavg()[0] ?? 0).toFixed(1)} at end)\n`,
)
process.exit(summary.ok() && !controller.signal.aborted ? 0 : 1)
