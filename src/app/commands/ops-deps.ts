import type { Config } from '../../platform/config.js'
import { messageOf } from '../../platform/errors/error-message.js'
import { createLogger } from '../../platform/logger.js'
import { buildDeps, type Deps } from '../composition/deps.js'
import { UsageError } from './usage-error.js'

// Commands import it from here with withOpsDeps; the CLI imports it alone, without the deps.
export { UsageError }

/**
 * Runs an ops command with real dependencies, logging to stderr (quiet unless something is
 * wrong) so that stdout carries only the command's output. Failures become one line and exit 1.
 */
export async function withOpsDeps(config: Config, command: string, run: (deps: Deps) => Promise<void>): Promise<void> {
  const level = config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL
  const deps = await buildDeps(config, createLogger({ level, role: command, stream: 'stderr' }))
  try {
    await run(deps)
  } catch (error) {
    process.stderr.write(`pam: ${command}: ${messageOf(error)}\n`)
    process.exitCode = error instanceof UsageError ? 2 : 1
  } finally {
    await deps.close()
  }
}
