import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'

const PAM = fileURLToPath(new URL('../../bin/pam.js', import.meta.url))

export interface PamProcess {
  child: ChildProcess
  output(): string
  /** Resolves with the exit code (or the signal's name) once the process ends. */
  exited: Promise<number | string>
  stop(signal?: NodeJS.Signals): Promise<number | string>
}

/** Runs `pam <args>` as a real process with only the given environment (plus PATH). */
export function spawnPam(args: string[], env: Record<string, string>): PamProcess {
  const child = spawn(process.execPath, [PAM, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  // A test process that ends early (a failed assertion, a timeout) takes its children with it.
  const reap = () => child.kill('SIGKILL')
  process.once('exit', reap)
  child.once('exit', () => process.off('exit', reap))
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
  return {
    child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (!address || typeof address === 'string') throw new Error('no port')
  return address.port
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
