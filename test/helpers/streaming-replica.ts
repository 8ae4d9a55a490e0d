import { execFileSync } from 'node:child_process'
import { appendFileSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { atExit, TEST_FOLDER_PREFIX, TEST_RUN } from './cleanup.js'
import { freePort } from './process.js'

/** The machine's PostgreSQL binaries (Debian's layout): the embedded package ships no pg_basebackup. */
const BIN = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'].find((dir) =>
  existsSync(join(dir, 'pg_basebackup')),
)

export interface StreamingReplica {
  primaryUrl: string
  replicaUrl: string
  /** Stops the replica at once (a crash): the primary goes on. */
  stopReplica(): void
  /** Stops (or resumes) the replica's replay of the primary's WAL: its reads stay as they are. */
  pauseReplay(paused: boolean): Promise<void>
  /** Resolves once the replica has replayed everything the primary had written when it was called. */
  caughtUp(): Promise<void>
  stop(): void
}

/** Why no streaming replica can be started here, or undefined when it can. */
export function replicaUnavailable(): string | undefined {
  return BIN
    ? undefined
    : "no PostgreSQL server binaries with pg_basebackup under /usr/lib/postgresql (Debian's postgresql package)"
}

/**
 * A primary and a hot standby streaming from it, made from the machine's PostgreSQL binaries in a
 * folder of the run (as `postgres` when the tests run as root: the server refuses root). Killed
 * and removed when the test process ends, however it ends.
 */
export async function startStreamingReplica(): Promise<StreamingReplica> {
  if (!BIN) throw new Error(replicaUnavailable())
  const home = mkdtempSync(join(tmpdir(), `${TEST_FOLDER_PREFIX}${TEST_RUN ? `${TEST_RUN}-` : ''}replica-`))
  const asRoot = process.getuid?.() === 0
  const owner = asRoot
    ? { uid: Number(execFileSync('id', ['-u', 'postgres'])), gid: Number(execFileSync('id', ['-g', 'postgres'])) }
    : undefined
  if (owner) chownSync(home, owner.uid, owner.gid)
  const run = (tool: string, args: string[]) =>
    execFileSync(join(BIN, tool), args, {
      ...owner,
      cwd: home,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env.PATH ?? '', ...(TEST_RUN ? { PAM_TEST_RUN: TEST_RUN } : {}) },
    })
  const primary = join(home, 'primary')
  const replica = join(home, 'replica')
  const stopServer = (data: string) => {
    if (existsSync(join(data, 'postmaster.pid'))) run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop'])
  }
  const stop = () => {
    for (const data of [replica, primary]) {
      try {
        stopServer(data)
      } catch {
        // Gone already.
      }
    }
    forget()
    rmSync(home, { recursive: true, force: true })
  }
  const forget = atExit(stop)
  try {
    const [primaryPort, replicaPort] = [await freePort(), await freePort()]
    run('initdb', ['-D', primary, '-U', 'postgres', '--auth=trust', '-N'])
    appendFileSync(
      join(primary, 'postgresql.conf'),
      [
        `port = ${primaryPort}`,
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${home}'`,
        'wal_level = replica',
        'max_wal_senders = 4',
        // A test's data: durability is not its subject.
        'fsync = off',
        '',
      ].join('\n'),
    )
    run('pg_ctl', ['-D', primary, '-l', join(home, 'primary.log'), '-w', 'start'])
    run('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', replica, '-R'])
    appendFileSync(join(replica, 'postgresql.conf'), `port = ${replicaPort}\n`)
    run('pg_ctl', ['-D', replica, '-l', join(home, 'replica.log'), '-w', 'start'])
    const url = (port: number) => `postgres://postgres@127.0.0.1:${port}/postgres`
    return {
      primaryUrl: url(primaryPort),
      replicaUrl: url(replicaPort),
      stopReplica: () => stopServer(replica),
      async caughtUp() {
        const primary = new pg.Client({ connectionString: url(primaryPort) })
        const replica = new pg.Client({ connectionString: url(replicaPort) })
        await Promise.all([primary.connect(), replica.connect()])
        try {
          const { rows } = await primary.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn')
          const deadline = Date.now() + 30_000
          for (;;) {
            const replayed = await replica.query<{ done: boolean }>(
              'select pg_last_wal_replay_lsn() >= $1::pg_lsn as done',
              [rows[0]?.lsn],
            )
            if (replayed.rows[0]?.done) return
            if (Date.now() > deadline) throw new Error('the replica did not catch up within 30 s')
            await sleep(20)
          }
        } finally {
          await Promise.all([primary.end(), replica.end()])
        }
      },
      async pauseReplay(paused) {
        const client = new pg.Client({ connectionString: url(replicaPort) })
        await client.connect()
        try {
          await client.query(paused ? 'select pg_wal_replay_pause()' : 'select pg_wal_replay_resume()')
          // pg_wal_replay_pause only asks: recovery may replay what arrives next before it stops.
          // Paused means 'paused', so a write made after this returns is not replayed.
          const deadline = Date.now() + 30_000
          while (paused) {
            const { rows } = await client.query<{ state: string }>('select pg_get_wal_replay_pause_state() as state')
            if (rows[0]?.state === 'paused') break
            if (Date.now() > deadline) throw new Error(`replay not paused after 30 s: ${rows[0]?.state}`)
            await sleep(20)
          }
        } finally {
          await client.end()
        }
      },
      stop,
    }
  } catch (error) {
    stop()
    throw error
  }
}
