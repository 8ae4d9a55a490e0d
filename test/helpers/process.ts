import { type ChildProcess, spawn } from 'node:child_process'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { createServer } from 'node:net'
import { after } from 'node:test'
import { fileURLToPath } from 'node:url'
import { atExit, TEST_RUN } from './cleanup.js'
import { canReachRedis, dropRedisPrefix } from './services.js'

const PAM = fileURLToPath(new URL('../../bin/pam.js', import.meta.url))

/**
 * `npm test` compiles the source once (PAM_TEST_CLI: the URL of the built cli.js) and runs
 * each `pam` from it: on a loaded 2-core machine, loading every module through tsx took 13 s a
 * process on Node 20, the compiled modules 5 s. Elsewhere `pam` runs as `npm start` does.
 */
const BUILT_CLI = process.env.PAM_TEST_CLI
const RUN_BUILT = 'const { main } = await import(process.argv[1]); await main(process.argv.slice(2))'
/** The arguments `node` needs to run `pam <args>` (the run's build, or bin/pam.js). */
export const pamArgs = (args: string[]) =>
  BUILT_CLI ? ['--input-type=module', '-e', RUN_BUILT, BUILT_CLI, ...args] : [PAM, ...args]

export interface PamProcess {
  child: ChildProcess
  output(): string
  /** Resolves with the exit code (or the signal's name) once the process ends. */
  exited: Promise<number | string>
  stop(signal?: NodeJS.Signals): Promise<number | string>
}

const running = new Set<PamProcess>()
/** The Redis key prefixes processes were given, emptied after the file's tests. */
const redisPrefixes = new Map<string, string>()

/** Sends `signal` to the process's whole group: the process and anything it started. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // The group is gone already.
  }
}

/**
 * Runs `pam <args>` as a real process with only the given environment (plus PATH), in a
 * process group of its own, so that stopping it stops everything it started. Whatever a test
 * leaves running is stopped after the file's tests, and killed if the test process ends first.
 */
export function spawnPam(
  args: string[],
  env: Record<string, string>,
  /** Run bin/pam.js on the TypeScript source, as `npm start` does: for modules only tsx can load (a .ts monitor). */
  { fromSource = false } = {},
): PamProcess {
  const child = spawn(process.execPath, fromSource ? [PAM, ...args] : pamArgs(args), {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      ...(TEST_RUN ? { PAM_TEST_RUN: TEST_RUN } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  if (env.REDIS_URL && env.REDIS_PREFIX) redisPrefixes.set(env.REDIS_PREFIX, env.REDIS_URL)
  const forget = atExit(() => signalGroup(child, 'SIGKILL'))
  let output = ''
  child.stdout?.on('data', (chunk) => {
    output += chunk
  })
  child.stderr?.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => {
      // Whatever the process started and left in its group goes with it.
      signalGroup(child, 'SIGKILL')
      forget()
      running.delete(pam)
      resolve(code ?? signal ?? 'unknown')
    }),
  )
  const pam: PamProcess = {
    child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
  running.add(pam)
  return pam
}

/** Stops every process still running: SIGTERM to its group, SIGKILL past `graceMs`. */
export async function stopAllPam(graceMs = 10_000): Promise<void> {
  await Promise.all(
    [...running].map(async (pam) => {
      signalGroup(pam.child, 'SIGTERM')
      const timer = setTimeout(() => signalGroup(pam.child, 'SIGKILL'), graceMs)
      await pam.exited
      clearTimeout(timer)
    }),
  )
}

// Under `node --test` (never in a bench that borrows these helpers), after the file's tests.
if (process.env.NODE_TEST_CONTEXT)
  after(async () => {
    await stopAllPam()
    // A test may have pointed a process at a Redis that does not answer: nothing to empty there.
    for (const [prefix, url] of redisPrefixes) if (await canReachRedis(url)) await dropRedisPrefix(url, prefix)
  })

/**
 * Where the OS takes the local ports of outgoing connections (Linux's ip_local_port_range; the
 * IANA range elsewhere). A port the OS picks for a listener (port 0) is in it too, and between its
 * test freeing it and a `pam` binding it, any connection of the run's parallel tests may take it
 * ("port is already in use": seen once in a CI rehearsal, failing a whole suite).
 */
export function ephemeralStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
  } catch {
    return 49_152
  }
}

/**
 * The TCP ports a process listens on, from Linux's /proc: its sockets' inodes found among the
 * listening entries of /proc/net/tcp and tcp6. Says what the process itself holds, where probing a
 * port it should not hold can find another test's server there.
 */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
      if (socket?.[1]) inodes.add(socket[1])
    } catch {
      // Closed since the folder was read.
    }
  }
  const ports = new Set<number>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local, , state, , , , , , inode] = line.trim().split(/\s+/)
      // 0A: LISTEN.
      if (state === '0A' && inode && inodes.has(inode)) ports.add(Number.parseInt(local?.split(':')[1] ?? '', 16))
    }
  }
  return [...ports].sort((a, b) => a - b)
}

/** The lowest port freePort gives: above the well-known services'. */
const LOWEST_FREE_PORT = 15_000

/**
 * A port on loopback nothing listens on now, below the ephemeral range, so no outgoing connection
 * takes it before the process it is for binds it. Picked at random, so parallel test files seldom
 * pick the same one; one that is taken is passed over.
 */
export async function freePort(): Promise<number> {
  const span = Math.max(1, ephemeralStart() - LOWEST_FREE_PORT)
  for (let tries = 0; ; tries++) {
    const port = LOWEST_FREE_PORT + Math.floor(Math.random() * span)
    const server = createServer()
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false))
      server.listen(port, '127.0.0.1', () => resolve(true))
    })
    if (bound) {
      await new Promise((resolve) => server.close(resolve))
      return port
    }
    if (tries > 100) throw new Error(`no free port between ${LOWEST_FREE_PORT} and ${LOWEST_FREE_PORT + span}`)
  }
}

/** GET a URL, with a short timeout; a refused connection reads as status 0. */
export async function get(url: string, headers: Record<string, string> = {}) {
  try {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(5_000) })
    const text = await response.text()
    return { status: response.status, body: text ? JSON.parse(text) : undefined }
  } catch {
    return { status: 0, body: undefined }
  }
}
