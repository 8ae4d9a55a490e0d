import closeWithGrace from 'close-with-grace'
import type { Config } from '../config.js'
import { buildDeps, type Deps } from '../deps.js'
import { createLogger } from '../logger.js'
import type { RunningRole } from './role.js'

// Past the shutdown budget for requests and jobs, a little time to close connections.
const CLOSE_MARGIN_MS = 5_000

/**
 * Runs one long-lived role: builds its dependencies, starts it, and on SIGTERM/SIGINT stops
 * accepting, finishes in-flight work, closes connections and exits 0.
 */
export async function runRole(
  config: Config,
  role: string,
  start: (deps: Deps, signal: AbortSignal) => Promise<RunningRole>,
): Promise<void> {
  const logger = createLogger({ level: config.LOG_LEVEL, role })
  const controller = new AbortController()
  let deps: Deps | undefined
  let running: RunningRole | undefined
  const started = performance.now()

  closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS + CLOSE_MARGIN_MS, logger }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'fatal error; shutting down')
    else logger.info({ signal }, 'shutting down')
    controller.abort()
    await running?.stop()
    await deps?.close()
    logger.info('stopped')
  })

  try {
    deps = await buildDeps(config, logger)
    running = await start(deps, controller.signal)
    logger.info({ startupMs: Math.round(performance.now() - started) }, `${role} started`)
  } catch (error) {
    if (controller.signal.aborted) return
    const message = (error as Error).message
    // Printed even under LOG_LEVEL=silent: a process that exits must say why.
    if (logger.isLevelEnabled('fatal')) logger.fatal(`cannot start: ${message}`)
    else process.stderr.write(`pam: cannot start: ${message}\n`)
    await deps?.close()
    process.exit(1)
  }
}
