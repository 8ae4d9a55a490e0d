import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildDeps, type Deps } from '../src/app/composition/deps.js'
import { waitForStore } from '../src/app/roles/wait-for-store.js'
import { startWorker } from '../src/app/roles/worker.js'
import { createProducer, type Producer } from '../src/jobs/producer.js'
import { QUEUE_NAMES } from '../src/platform/backend/queue-names.js'
import { loadConfig } from '../src/platform/config.js'
import { createLogger } from '../src/platform/logger.js'
import { dropRedisPrefix } from '../test/helpers/services.js'

export const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'

export interface Stack {
  deps: Deps
  producer: Producer
  /** The environment the stack was configured from: a `pam` process started with it joins the same deployment. */
  env: Record<string, string>
  close(): Promise<void>
}

/**
 * PAM's dependencies on a bench database, migrated, with a worker on every queue in this process
 * (`concurrency` 0: none here; start `pam worker` with the stack's `env`, and stop it before closing).
 */
export async function startStack(
  mode: 'redis' | 'postgres',
  databaseUrl: string,
  env: Record<string, string>,
  concurrency = 8,
): Promise<Stack> {
  // Where the stack keeps its development secrets (the generated VAPID keys): removed on close.
  const home = join(tmpdir(), `pam-bench-${randomBytes(3).toString('hex')}`)
  const stackEnv: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    ...(mode === 'redis'
      ? { REDIS_URL: BENCH_REDIS_URL, REDIS_PREFIX: `pambench${randomBytes(3).toString('hex')}` }
      : {}),
    INTERNAL_TOKEN: randomBytes(24).toString('base64url'),
    LOG_LEVEL: 'error',
    PAM_HOME: home,
    ...env,
  }
  const config = loadConfig(stackEnv)
  const deps = await buildDeps(config, createLogger({ level: 'error', role: 'bench' }))
  const controller = new AbortController()
  await waitForStore(deps, controller.signal)
  const producer = createProducer(deps.backend, deps.logger)
  const worker =
    concurrency > 0 ? await startWorker(deps, controller.signal, { queues: QUEUE_NAMES, concurrency }) : undefined
  return {
    deps,
    producer,
    env: stackEnv,
    async close() {
      controller.abort()
      await worker?.stop()
      await producer.close()
      await deps.close()
      // The bench's queues, schedules and bus keys go with it, like its database.
      if (mode === 'redis') await dropRedisPrefix(BENCH_REDIS_URL, config.REDIS_PREFIX)
      await rm(home, { recursive: true, force: true })
    },
  }
}
