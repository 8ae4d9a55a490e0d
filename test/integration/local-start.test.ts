import assert from 'node:assert/strict'
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { tempFolder } from '../helpers/cleanup.js'
import { eventually, TEST_INTERNAL_TOKEN, TEST_JWT_SECRET } from '../helpers/harness.js'
import { freePort, get, spawnPam } from '../helpers/process.js'

/** Holds a port on 127.0.0.1, as another clone's PAM would. */
async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as { port: number }).port, server }
}

/** A PAM_HOME the embedded server's `postgres` user can reach when the tests run as root. */
function reachableHome(): string {
  const folder = tempFolder()
  chmodSync(folder, 0o755)
  return join(folder, '.pam')
}

/** The environment of a newcomer's clone: the embedded database, dev secrets, nothing else. */
const embeddedEnv = (home: string, extra: Record<string, string> = {}) => ({
  PAM_HOME: home,
  LOG_LEVEL: 'warn',
  SHUTDOWN_TIMEOUT_MS: '5000',
  ...extra,
})

describe('two clones at once', () => {
  const held: Server[] = []
  after(() => {
    for (const server of held) server.close()
  })

  it('names every port that was given and is taken, in one message, before creating anything', async () => {
    const api = await holdPort()
    const database = await holdPort()
    held.push(api.server, database.server)
    const home = reachableHome()
    const pam = spawnPam(
      ['start'],
      embeddedEnv(home, { PORT: String(api.port), EMBEDDED_DATABASE_PORT: String(database.port) }),
    )
    assert.equal(await pam.exited, 1, pam.output())
    const lines = pam.output().trim().split('\n')
    assert.equal(lines.length, 1, pam.output())
    assert.match(lines[0] ?? '', new RegExp(`PORT ${api.port} \\(the API\\), e\\.g\\. PORT=\\d+`))
    assert.match(lines[0] ?? '', new RegExp(`EMBEDDED_DATABASE_PORT ${database.port} \\(the embedded PostgreSQL\\)`))
    assert.equal(existsSync(home), false, 'nothing created')
  })

  it('in development picks free ports for the ones not given, says which, and keeps them for the clone', async () => {
    const api = await holdPort()
    const database = await holdPort()
    held.push(api.server, database.server)
    const home = reachableHome()
    // This clone used these ports last time; another clone holds them now. (The defaults, 8000
    // and 54329, are not taken here: other work on this machine may be using them.)
    mkdirSync(home)
    writeFileSync(join(home, 'ports.json'), JSON.stringify({ PORT: api.port, EMBEDDED_DATABASE_PORT: database.port }))
    const pam = spawnPam(['start'], embeddedEnv(home))
    try {
      const chosen = await eventually(
        async () => {
          const output = pam.output()
          const apiPort = new RegExp(`port ${api.port} is taken \\(another PAM clone\\?\\): the API uses (\\d+)`).exec(
            output,
          )?.[1]
          const dbPort = new RegExp(
            `port ${database.port} is taken \\(another PAM clone\\?\\): the embedded PostgreSQL uses (\\d+)`,
          ).exec(output)?.[1]
          return apiPort && dbPort ? { api: Number(apiPort), database: Number(dbPort) } : undefined
        },
        30_000,
        'the ports PAM chose',
      )
      await eventually(
        async () => ((await get(`http://127.0.0.1:${chosen.api}/ready`)).status === 200 ? true : undefined),
        90_000,
        '/ready on the chosen port',
      )
      await eventually(
        async () => {
          const kept = JSON.parse(readFileSync(join(home, 'ports.json'), 'utf8'))
          return kept.PORT === chosen.api && kept.EMBEDDED_DATABASE_PORT === chosen.database ? true : undefined
        },
        10_000,
        'the chosen ports kept in ports.json',
      )
      // Another command of this clone finds the running database on its port.
      const status = spawnPam(['migrate', 'status'], embeddedEnv(home))
      assert.equal(await status.exited, 0, status.output())
      assert.match(status.output(), /applied/)
    } finally {
      assert.equal(await pam.stop('SIGINT'), 0, pam.output())
    }
    assert.doesNotMatch(pam.output(), /"level":(40|50)/, 'no warning or error')
  })
})

describe('a start that fails', () => {
  const root = userInfo().uid === 0
  const why = 'runs as root only: the embedded server then runs as `postgres`, which must enter the clone'

  it('as root, in a folder `postgres` cannot enter, says so and leaves nothing it created', {
    skip: !root && why,
  }, async () => {
    const folder = tempFolder()
    chmodSync(folder, 0o700)
    const home = join(folder, '.pam')
    const pam = spawnPam(
      ['start'],
      embeddedEnv(home, { PORT: String(await freePort()), EMBEDDED_DATABASE_PORT: String(await freePort()) }),
    )
    assert.equal(await pam.exited, 1, pam.output())
    assert.match(pam.output(), new RegExp(`cannot enter ${folder} \\(mode 700\\)`))
    assert.deepEqual(readdirSync(folder), [], 'secrets.json, vapid.json or .pam left behind')
  })

  it('as root, keeps what was there before it and removes only what it made', { skip: !root && why }, async () => {
    const folder = tempFolder()
    chmodSync(folder, 0o700)
    const home = join(folder, '.pam')
    mkdirSync(home)
    const secrets = `${JSON.stringify({ jwtSecret: TEST_JWT_SECRET, internalToken: TEST_INTERNAL_TOKEN, databasePassword: 'x' })}\n`
    writeFileSync(join(home, 'secrets.json'), secrets)
    const pam = spawnPam(
      ['start'],
      embeddedEnv(home, { PORT: String(await freePort()), EMBEDDED_DATABASE_PORT: String(await freePort()) }),
    )
    assert.equal(await pam.exited, 1, pam.output())
    assert.deepEqual(readdirSync(home), ['secrets.json'])
    assert.equal(readFileSync(join(home, 'secrets.json'), 'utf8'), secrets)
  })
})
