import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { TEST_INTERNAL_TOKEN, TEST_JWT_SECRET } from '../helpers/harness.js'
import { freePort } from '../helpers/process.js'
import { answers } from '../helpers/remote-api.js'

const PAM = fileURLToPath(new URL('../../bin/pam.js', import.meta.url))
const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/**
 * `pam start` (or the README's `npm start`) as a terminal runs it: the leader of its own process
 * group, which Ctrl-C signals as a whole.
 */
function startInGroup(env: Record<string, string>, command: 'pam' | 'npm' = 'pam') {
  const [file, args] = command === 'npm' ? ['npm', ['start']] : [process.execPath, [PAM, 'start']]
  const child: ChildProcess = spawn(file, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let output = ''
  child.stdout?.on('data', (chunk) => {
    output += chunk
  })
  child.stderr?.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  )
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid ?? 0), signal)
    } catch {
      // The group is gone already.
    }
  }
  const reap = () => signalGroup('SIGKILL')
  process.once('exit', reap)
  void exited.then(() => process.off('exit', reap))
  return { child, exited, signalGroup, output: () => output }
}

/** The pid of the server on `home`'s data directory while it runs. */
function serverPid(home: string): number | undefined {
  const file = join(home, 'pgdata', 'postmaster.pid')
  if (!existsSync(file)) return undefined
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0])
  try {
    process.kill(pid, 0)
    return pid
  } catch {
    return undefined
  }
}

const groupOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[2])

describe('the embedded PostgreSQL under pam start', () => {
  const homes: string[] = []
  const groups: ReturnType<typeof startInGroup>[] = []
  const home = () => {
    const dir = mkdtempSync(join(tmpdir(), 'pam-faults-home-'))
    // As root the server runs as `postgres`, which must be able to enter the folder.
    chmodSync(dir, 0o755)
    homes.push(dir)
    return dir
  }
  const envFor = async (pamHome: string, databasePort: number) => ({
    PAM_HOME: pamHome,
    PORT: String(await freePort()),
    EMBEDDED_DATABASE_PORT: String(databasePort),
    JWT_SECRET: TEST_JWT_SECRET,
    INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
    LOG_LEVEL: 'warn',
    PLACES_API_URL: `http://127.0.0.1:${databasePort}`,
    WEATHER_API_URL: `http://127.0.0.1:${databasePort}`,
  })
  const start = (env: Record<string, string>, command?: 'pam' | 'npm') => {
    const pam = startInGroup(env, command)
    groups.push(pam)
    return pam
  }
  const serverStops = async (pamHome: string) => {
    for (let waited = 0; serverPid(pamHome); waited += 100) {
      if (waited > 30_000) throw new Error('the embedded PostgreSQL is still running')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  after(async () => {
    for (const pam of groups) pam.signalGroup('SIGKILL')
    await Promise.all(groups.map((pam) => pam.exited))
    for (const dir of homes) {
      const pid = serverPid(dir)
      if (pid) process.kill(pid, 'SIGINT')
      await serverStops(dir)
      rmSync(dir, { recursive: true, force: true })
    }
  })

  let shared: string
  let databasePort: number

  it('Ctrl-C on npm start (SIGINT to the whole group) stops PAM, then its database, and exits 0 quietly', async () => {
    shared = home()
    databasePort = await freePort()
    const env = await envFor(shared, databasePort)
    const pam = start(env, 'npm')
    await answers(`127.0.0.1:${env.PORT}`, '/ready', 200, 90_000)
    const server = serverPid(shared)
    assert.ok(server, 'the embedded server runs')
    assert.notEqual(groupOf(server), pam.child.pid, "the server is outside the terminal's process group")
    pam.signalGroup('SIGINT')
    assert.equal(await pam.exited, 0, pam.output())
    // LOG_LEVEL=warn: nothing is logged at warn or above on a clean stop (no lost connections).
    assert.doesNotMatch(pam.output(), /"level":[4-6]\d/)
    await serverStops(shared)
  })

  it('closing the terminal (SIGHUP) stops PAM like SIGTERM and exits 0', async () => {
    const env = { ...(await envFor(shared, databasePort)), LOG_LEVEL: 'info' }
    const pam = start(env)
    await answers(`127.0.0.1:${env.PORT}`, '/ready', 200, 90_000)
    pam.signalGroup('SIGHUP')
    assert.equal(await pam.exited, 0, pam.output())
    const lines = pam.output().trim().split('\n')
    assert.match(lines.at(-1) ?? '', /PAM stopped/)
    await serverStops(shared)
  })

  it('a second instance in the same clone shares the database; the last to stop stops it', async () => {
    const firstEnv = await envFor(shared, databasePort)
    const secondEnv = await envFor(shared, databasePort)
    const first = start(firstEnv)
    await answers(`127.0.0.1:${firstEnv.PORT}`, '/ready', 200, 90_000)
    const second = start(secondEnv)
    await answers(`127.0.0.1:${secondEnv.PORT}`, '/ready', 200, 90_000)

    first.signalGroup('SIGINT')
    assert.equal(await first.exited, 0, first.output())
    assert.ok(serverPid(shared), 'the database stays up for the second instance')
    await answers(`127.0.0.1:${secondEnv.PORT}`, '/ready', 200, 30_000)

    second.signalGroup('SIGINT')
    assert.equal(await second.exited, 0, second.output())
    await serverStops(shared)
  })

  it('another clone on a taken database port says which variable to set, at once and before initdb', async () => {
    const blockerEnv = await envFor(shared, databasePort)
    const blocker = start(blockerEnv)
    await answers(`127.0.0.1:${blockerEnv.PORT}`, '/ready', 200, 90_000)
    const other = home()
    const clone = start(await envFor(other, databasePort))
    assert.equal(await clone.exited, 1, clone.output())
    assert.match(clone.output(), /EMBEDDED_DATABASE_PORT=\d+/)
    assert.equal(existsSync(join(other, 'pgdata', 'PG_VERSION')), false, 'initdb did not run')
    blocker.signalGroup('SIGINT')
    assert.equal(await blocker.exited, 0, blocker.output())
  })
})
