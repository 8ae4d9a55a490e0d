import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { chmodSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { eventually, inBothModes, type Mode, TEST_INTERNAL_TOKEN, testEnv } from '../helpers/harness.js'
import { freePort, get, type PamProcess, spawnPam } from '../helpers/process.js'
import { createTestDatabase } from '../helpers/services.js'

/** Waits for /ready to answer `status`; returns its body. */
function readyIs(port: number, status: number, timeoutMs = 30_000) {
  return eventually(
    async () => {
      const response = await get(`http://127.0.0.1:${port}/ready`)
      return response.status === status ? response.body : undefined
    },
    timeoutMs,
    `/ready to answer ${status}`,
  )
}

describe('pam token', () => {
  it('prints the internal token the dashboard sign-in asks for', async () => {
    const pam = spawnPam(['token', '--internal'], testEnv('postgres', 'postgres://postgres@127.0.0.1:1/unused'))
    assert.equal(await pam.exited, 0)
    assert.equal(pam.output(), `${TEST_INTERNAL_TOKEN}\n`)
  })
})

describe('pam config check', () => {
  it('names every missing production setting in one message and exits non-zero', async () => {
    const pam = spawnPam(['config', 'check'], { ENVIRONMENT: 'production' })
    assert.equal(await pam.exited, 1)
    const output = pam.output()
    for (const name of ['DATABASE_URL', 'JWT_SECRET or JWT_JWKS_URL', 'INTERNAL_TOKEN'])
      assert.match(output, new RegExp(name))
    assert.equal(output.trim().split('\n')[0], 'pam: invalid configuration:')
  })

  it('prints the mode it would run in and never a secret', async () => {
    const env = {
      DATABASE_URL: 'postgres://pam:db-password-123@db.example:5432/pam',
      REDIS_URL: 'redis://:redis-password-456@cache.example:6379',
      JWT_SECRET: 'jwt-secret-value-0123456789abcdefghij',
      INTERNAL_TOKEN: 'internal-token-value-0123456789abcdef',
    }
    const pam = spawnPam(['config', 'check'], env)
    assert.equal(await pam.exited, 0)
    const output = pam.output()
    assert.match(output, /redis \(queues, bus and cache on Redis\)/)
    assert.match(output, /external PostgreSQL/)
    for (const secret of ['db-password-123', 'redis-password-456', 'jwt-secret-value', 'internal-token-value']) {
      assert.ok(!output.includes(secret), `output shows ${secret}`)
    }
  })
})

inBothModes('pam roles as processes', (mode: Mode) => {
  let database: { url: string; drop(): Promise<void> }
  const running: PamProcess[] = []
  const start = (args: string[], env: Record<string, string>) => {
    const pam = spawnPam(args, env)
    running.push(pam)
    return pam
  }

  before(async () => {
    database = await createTestDatabase()
  })
  after(async () => {
    await Promise.all(running.map((pam) => pam.stop('SIGKILL')))
    await database.drop()
  })

  it('pam start becomes ready, and SIGTERM exits 0 promptly', async () => {
    const port = await freePort()
    const pam = start(['start'], testEnv(mode, database.url, { PORT: String(port) }))
    const body = await readyIs(port, 200)
    assert.deepEqual(body.components, { database: true, redis: mode === 'redis' ? true : null, workers: true })
    // Then, in development, it says where to go and how to get a token.
    const block = await eventually(async () => /PAM is ready.*Ctrl-C stops PAM/s.exec(pam.output())?.[0], 10_000)
    for (const line of [`http://127.0.0.1:${port}/v1`, `http://127.0.0.1:${port}/docs`, '/admin/queues'])
      assert.ok(block.includes(line), `${line} in:\n${block}`)
    assert.match(block, /token --internal/)
    const user = /TOKEN=\$\(npx pam token --user ([0-9a-f-]{36})\)/.exec(block)?.[1]
    assert.ok(user, block)
    // Not on the default port: the watch line names the server, so it holds in any shell.
    assert.ok(block.includes(`npx pam watch --user ${user} --url http://127.0.0.1:${port}`), block)
    const stopping = Date.now()
    assert.equal(await pam.stop('SIGTERM'), 0, pam.output())
    assert.ok(Date.now() - stopping < 15_000)
  })

  it('pam start stopped while it is still starting (its API answering, the worker and scheduler not yet up) exits 0', async () => {
    const port = await freePort()
    const pam = start(['start'], testEnv(mode, database.url, { PORT: String(port) }))
    // The API listens before the worker and the scheduler start: signalled at its first answer.
    for (;;) {
      const answered = await fetch(`http://127.0.0.1:${port}/health`).then(
        () => true,
        () => false,
      )
      if (answered || pam.child.exitCode !== null) break
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    // Before, the roles still starting were never stopped, and their API kept the process up.
    assert.equal(await pam.stop('SIGTERM'), 0, pam.output())
  })

  it('reports not ready when the only worker stops, and ready again when one starts, without an API restart', async () => {
    const port = await freePort()
    const env = testEnv(mode, database.url, { PORT: String(port) })
    start(['api'], env)
    start(['scheduler'], env)
    const worker = start(['worker'], env)
    await readyIs(port, 200)

    assert.equal(await worker.stop('SIGTERM'), 0, worker.output())
    const down = await readyIs(port, 503, 30_000)
    assert.equal(down.components.workers, false)

    start(['worker', '--queues', 'notifications,analytics,maintenance', '--concurrency', '2'], env)
    await readyIs(port, 200)
  })

  it('keeps running and reports not ready while its database is unreachable', async () => {
    const port = await freePort()
    const closed = await freePort()
    const pam = start(['api'], testEnv(mode, `postgres://postgres@127.0.0.1:${closed}/nowhere`, { PORT: String(port) }))
    const body = await readyIs(port, 503)
    assert.equal(body.components.database, false)
    assert.equal((await get(`http://127.0.0.1:${port}/health`)).status, 200)
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    assert.equal(pam.child.exitCode, null, 'the process must keep retrying, not exit')
    assert.doesNotMatch(pam.output(), /\n\s+at /, 'no stack traces')
    assert.equal(await pam.stop('SIGTERM'), 0)
  })
})

describe('pam processes and faults', () => {
  let database: { url: string; drop(): Promise<void> }
  before(async () => {
    database = await createTestDatabase()
  })
  after(async () => database.drop())

  it('names the port when it is already in use, in one line, before connecting to anything, and exits 1', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      const pam = spawnPam(
        ['api'],
        testEnv('postgres', database.url, { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'error' }),
      )
      assert.equal(await pam.exited, 1)
      const lines = pam.output().trim().split('\n')
      assert.equal(lines.length, 1, pam.output())
      assert.match(lines[0] ?? '', new RegExp(`^pam: cannot start: ports in use .*PORT ${port} \\(the API\\)`))
    } finally {
      blocker.close()
    }
  })

  it('reports redis: false while Redis is unreachable, without crashing', async () => {
    const port = await freePort()
    const closed = await freePort()
    const pam = spawnPam(
      ['api'],
      testEnv('postgres', database.url, { PORT: String(port), REDIS_URL: `redis://127.0.0.1:${closed}` }),
    )
    try {
      // Once the API knows its schema is current (the database answers), Redis is what is missing.
      const body = await eventually(async () => {
        const response = await get(`http://127.0.0.1:${port}/ready`)
        return response.status === 503 && response.body.components.database ? response.body : undefined
      }, 30_000)
      assert.equal(body.components.redis, false)
      assert.equal(pam.child.exitCode, null)
    } finally {
      assert.equal(await pam.stop('SIGTERM'), 0)
    }
  })

  it('pam migrate down then up succeeds on a database with data in it', async () => {
    const env = testEnv('postgres', database.url)
    const up = spawnPam(['migrate', 'up'], env)
    assert.equal(await up.exited, 0, up.output())
    const status = spawnPam(['migrate', 'status'], env)
    assert.equal(await status.exited, 0)
    assert.match(status.output(), /^applied \S+ {2}2026_11_23_0001_initial$/m)
    const down = spawnPam(['migrate', 'down'], env)
    assert.equal(await down.exited, 0, down.output())
    assert.match(down.output(), /^Down 2026_\d\d_\d\d_\d{4}_\w+$/m)
    const again = spawnPam(['migrate', 'up'], env)
    assert.equal(await again.exited, 0, again.output())
    assert.equal(again.output().replace('Up', 'Down'), down.output())
  })
})

/** How a test reaches the embedded server a `pam` process started: the password is in PAM_HOME. */
async function queryEmbedded(env: Record<string, string>, text: string, values: unknown[]) {
  const { databasePassword } = JSON.parse(readFileSync(join(env.PAM_HOME ?? '', 'secrets.json'), 'utf8'))
  const client = new pg.Client({
    connectionString: `postgres://postgres:${encodeURIComponent(databasePassword)}@127.0.0.1:${env.EMBEDDED_DATABASE_PORT}/pam`,
  })
  await client.connect()
  try {
    return (await client.query(text, values)).rows
  } finally {
    await client.end()
  }
}

describe('the embedded default (no DATABASE_URL)', () => {
  it('starts a whole system from nothing, and finds its data again after a restart', async () => {
    const port = await freePort()
    const { DATABASE_URL: _external, ...env } = testEnv('postgres', '', {
      PORT: String(port),
      EMBEDDED_DATABASE_PORT: String(await freePort()),
    })
    // PostgreSQL runs as the `postgres` user when the tests run as root: it must reach PAM_HOME.
    chmodSync(env.PAM_HOME ?? '', 0o755)
    const user = randomUUID()

    const first = spawnPam(['start'], env)
    try {
      await readyIs(port, 200, 60_000)
      await queryEmbedded(env, `insert into users (id, timezone) values ($1, 'America/Denver')`, [user])
    } finally {
      assert.equal(await first.stop('SIGINT'), 0, first.output())
    }

    const second = spawnPam(['start'], env)
    try {
      await readyIs(port, 200, 60_000)
      assert.deepEqual(await queryEmbedded(env, 'select timezone from users where id = $1', [user]), [
        { timezone: 'America/Denver' },
      ])
    } finally {
      assert.equal(await second.stop('SIGINT'), 0, second.output())
    }
  })
})

describe('on a Node older than package.json engines', () => {
  const BIN = fileURLToPath(new URL('../../bin/pam.js', import.meta.url))
  const floor = Number(
    /\d+/.exec(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).engines.node)?.[0],
  )
  // The machine's own Node (Debian's), when it is older than the floor: 20 here.
  const older = ['/usr/bin/node', '/usr/local/bin/node'].find((file) => {
    const result = spawnSync(file, ['-p', 'process.versions.node'], { encoding: 'utf8' })
    return result.status === 0 && Number(result.stdout.split('.')[0]) < floor
  })
  const run = (node: string, args: string[]) =>
    spawnSync(node, [BIN, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: tmpdir() } })

  it('--help warns once, naming the Node it needs', {
    skip: !older && `no Node older than ${floor} on this machine`,
  }, () => {
    const help = run(older ?? '', ['--help'])
    assert.equal(help.status, 0, help.stderr)
    const warnings = help.stderr.split('\n').filter((line) => line.includes('warning'))
    assert.equal(warnings.length, 1, help.stderr)
    assert.match(warnings[0] ?? '', new RegExp(`PAM needs Node ${floor} or newer`))
    assert.match(help.stdout, /^usage: npx pam <command>/)
  })

  it('says nothing on the Node it needs', () => {
    const help = run(process.execPath, ['--help'])
    assert.equal(help.status, 0, help.stderr)
    assert.equal(help.stderr, '')
  })
})
