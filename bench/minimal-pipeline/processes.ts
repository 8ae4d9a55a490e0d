import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { waitFor } from '../wait-for.js'

export interface MinimalPipeline {
  api: ChildProcess
  worker: ChildProcess
  stop(): Promise<void>
}

/** Runs one of the pipeline's files in a process of its own, through tsx as `pam` runs here. */
function start(file: string, env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(file, import.meta.url))], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (chunk) => {
    output += chunk
  })
  child.stderr?.on('data', (chunk) => {
    output += chunk
  })
  return { child, output: () => output }
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  await exited
}

/**
 * The minimal pipeline's API (on `port`) and worker, each in its own process, on the bench's
 * database and Redis (its keys under `prefix`), once the API answers and the worker is ready.
 */
export async function startMinimalPipeline(options: {
  port: number
  databaseUrl: string
  redisUrl: string
  prefix: string
}): Promise<MinimalPipeline> {
  const env = {
    PORT: String(options.port),
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: options.prefix,
  }
  const api = start('./api.ts', env)
  const worker = start('./worker.ts', env)
  try {
    await waitFor(`http://127.0.0.1:${options.port}/health`, {}, api.output)
    for (let i = 0; !worker.output().includes('ready'); i++) {
      if (i > 600 || worker.child.exitCode !== null) throw new Error(`minimal worker never ready\n${worker.output()}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  } catch (error) {
    await Promise.all([stop(api.child), stop(worker.child)])
    throw error
  }
  return {
    api: api.child,
    worker: worker.child,
    stop: async () => {
      await Promise.all([stop(api.child), stop(worker.child)])
    },
  }
}
