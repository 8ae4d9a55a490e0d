import closeWithGrace from 'close-with-grace'
import type { Config } from '../../platform/config.js'
import { messageOf } from '../../platform/errors/error-message.js'
import { type ErrorReporter, noErrorReporter } from '../../platform/errors/error-reporter.js'
import { createErrorReporter } from '../../platform/errors/error-tracking.js'
import { isOutageError } from '../../platform/errors/outage-errors.js'
import { createLogger, type Logger } from '../../platform/logger.js'
import { buildDeps, type Deps } from '../composition/deps.js'
import type { RunningRole } from './role.js'
import { StartupRefusal } from './wait-for-store.js'

// Past the shutdown budget for requests and jobs, a little time to close connections.
const CLOSE_MARGIN_MS = 5_000
// Of that margin, how long queued error reports may take to reach Sentry.
const REPORTS_FLUSH_MS = 2_000
const REPEATED_SIGNAL_MS = 1_000
// A closed terminal sends SIGHUP: the same request as SIGTERM or Ctrl-C.
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
const FAULT_SIGNALS = ['SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGFPE', 'SIGABRT', 'SIGTRAP'] as const

/**
 * Runs one long-lived role: builds its dependencies, starts it, and on SIGTERM/SIGINT/SIGHUP
 * stops accepting, finishes in-flight work, closes connections and exits 0.
 */
export async function runRole(
  config: Config,
  role: string,
  started: (() => Promise<void>) | undefined,
  start: (deps: Deps, signal: AbortSignal) => Promise<RunningRole>,
): Promise<void> {
  const logger = createLogger({ level: config.LOG_LEVEL, role })
  const controller = new AbortController()
  let deps: Deps | undefined
  let errors: ErrorReporter = noErrorReporter
  let running: RunningRole | undefined
  let starting: Promise<RunningRole> | undefined
  let fatal: unknown
  let stopping = false
  let stoppingSince = 0
  let requested: NodeJS.Signals | undefined
  const startedAt = performance.now()

  const grace = closeWithGrace(
    {
      delay: config.SHUTDOWN_TIMEOUT_MS + CLOSE_MARGIN_MS,
      logger,
      // Errors and stop signals are handled below. Faults raised by the process itself (a crash in
      // Node's own exit path, which on Node 20 follows a closed terminal) must end it: handled as a
      // shutdown request they re-ran the shutdown in a loop.
      skip: ['uncaughtException', 'unhandledRejection', ...STOP_SIGNALS, ...FAULT_SIGNALS],
    },
    async () => {
      stopping = true
      stoppingSince = performance.now()
      if (!fatal) logger.info({ signal: requested }, 'shutting down')
      controller.abort()
      // A stop asked for while the role is still starting (its API may already answer /ready)
      // waits for the start to end, then stops what started: left running, it kept the process up.
      running ??= await starting?.catch(() => undefined)
      await running?.stop()
      await deps?.close()
      await errors.close(REPORTS_FLUSH_MS)
      logger.info('PAM stopped')
      if (fatal) process.exit(1)
    },
  )
  const onStopSignal = (signal: NodeJS.Signals) => {
    if (!stopping) {
      requested = signal
      void grace.close()
      return
    }
    // Ctrl-C under `npm start` arrives twice at once (from the terminal, and forwarded by npm):
    // one request. A signal that comes later is someone insisting: exit now.
    if (performance.now() - stoppingSince < REPEATED_SIGNAL_MS) return
    logger.error({ signal }, 'second signal: exiting without finishing the shutdown')
    process.exit(1)
  }
  for (const signal of STOP_SIGNALS) process.on(signal, onStopSignal)
  const onError = (error: unknown) => {
    // A connection that dies outside any request or job (a dependency restarting) is recovered
    // by its pool or client; ending the process would turn a short outage into a long one.
    if (isOutageError(error)) {
      logger.error({ err: messageOf(error) }, 'a dependency connection failed outside any request; continuing')
      return
    }
    if (stopping) {
      logger.error({ err: error }, 'error while stopping')
      return
    }
    if (error instanceof StartupRefusal) sayWhy(logger, error.message)
    else logger.error({ err: error }, 'fatal error; shutting down')
    errors.processFailed(error)
    fatal = error
    void grace.close()
  }
  process.on('uncaughtException', onError)
  process.on('unhandledRejection', onError)

  try {
    // Before anything builds a Fastify instance: Sentry instruments the ones created afterwards.
    errors = await createErrorReporter(config, role, logger)
    deps = await buildDeps(config, logger, errors)
    starting = start(deps, controller.signal)
    running = await starting
    logger.info({ startupMs: Math.round(performance.now() - startedAt) }, `${role} started`)
    await started?.().catch((error: Error) => logger.warn({ err: error.message }, 'could not keep the chosen ports'))
  } catch (error) {
    if (controller.signal.aborted) return
    sayWhy(logger, messageOf(error))
    await deps?.close()
    await deps?.removeCreated()
    await errors.close(REPORTS_FLUSH_MS)
    process.exit(1)
  }
}

/** Printed even under LOG_LEVEL=silent: a process that exits must say why. */
function sayWhy(logger: Logger, message: string) {
  if (logger.isLevelEnabled('fatal')) logger.fatal(`cannot start: ${message}`)
  else process.stderr.write(`pam: cannot start: ${message}\n`)
}
