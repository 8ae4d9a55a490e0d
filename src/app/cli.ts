import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { QUEUE_NAMES } from '../platform/backend/queue-names.js'
import type { Config } from '../platform/config.js'
import { messageOf } from '../platform/errors/error-message.js'

const USAGE = `usage: npx pam <command>

roles
  start                       api + worker + scheduler in one process (the local default)
  api                         HTTP + WebSocket server
  worker [--queues a,b] [--concurrency N]
                              consumes ${QUEUE_NAMES.join(', ')}
  scheduler                   owns the periodic schedule

operations
  migrate up|down|status      apply, revert the latest, or list migrations
  inspect active|scheduled|stats|workers|failed [--queue Q] [--json]
                              what the queues, schedules and workers are doing
  call <task> [--args JSON] [--wait] [--timeout S]
                              run any task by name (e.g. ops.ping), optionally waiting for its result
  retry <jobId> | --all-failed [--queue Q]
                              put failed jobs back in their queue
  backup create [--out FILE]  pg_dump (custom format) of the database
  backup restore FILE         pg_restore a backup over the database, in one transaction
  verify <base-url> [--token T] [--internal-token T] [--origin O]
                              check a deployment: health, readiness, latency, docs, CORS, rate limits, workers, schedules
  watch --user <uuid> | --token T [--url URL] [--since TIME]
                              a traveller's alerts as they happen, a line each (--user: development)
  demo [--timeout S]          a demo traveller whose data trips all five monitors; prints their alerts
  ai usage [--day YYYY-MM-DD] [--json]
                              model calls, tokens, cache hits and cost of a UTC day, against AI_DAILY_BUDGET_USD
  token --user <uuid> [--ttl 1h] | --internal
                              mint a dev user token from the configured JWT_SECRET, or print the
                              internal token (dashboard, metrics); not in production
  config check                validate the environment and print the mode PAM would run in
  config docs                 print the configuration table (Markdown) from the schema
  config example              print an env file with every variable, commented, at its default
`

/** The USAGE entries of one command (each form, with its description), or undefined for an unknown one. */
function commandHelp(command: string): string | undefined {
  const entries: string[] = []
  let inEntry = false
  for (const line of USAGE.split('\n')) {
    if (line.startsWith(`  ${command} `) || line === `  ${command}`) inEntry = true
    else if (!/^ {4,}\S/.test(line)) inEntry = false
    if (inEntry) entries.push(line)
  }
  return entries.length > 0 ? `usage: npx pam <command>, where <command> is\n${entries.join('\n')}\n` : undefined
}

function fail(message: string): never {
  process.stderr.write(`pam: ${message}\n`)
  process.exit(2)
}

export async function main(argv: string[]): Promise<void> {
  try {
    await dispatch(argv)
  } catch (error) {
    const code = (error as { code?: string }).code ?? ''
    const { UsageError } = await import('./commands/usage-error.js')
    if (!(error instanceof UsageError) && !code.startsWith('ERR_PARSE_ARGS')) throw error
    fail(messageOf(error))
  }
}

/**
 * Each command loads only the modules it needs, after argv is parsed: `pam --help` or
 * `pam config check` never pays for Fastify, BullMQ and every monitor.
 */
type Command = (config: Config, args: string[], started: () => Promise<void>) => Promise<void>
const ROLES = new Set(['start', 'api', 'worker', 'scheduler'])
// Commands that never touch the database, so never start the embedded one.
const WITHOUT_DATABASE = new Set(['config', 'token', 'watch'])
const COMMANDS: Record<string, () => Promise<Command>> = {
  start: async () => (await import('./commands/roles.js')).runStartCommand,
  api: async () => (await import('./commands/roles.js')).runApiCommand,
  worker: async () => (await import('./commands/roles.js')).runWorkerCommand,
  scheduler: async () => (await import('./commands/roles.js')).runSchedulerCommand,
  migrate: async () => {
    const { runMigrateCommand } = await import('./commands/migrate.js')
    return (config, args) => runMigrateCommand(config, args[0])
  },
  inspect: async () => (await import('./commands/inspect.js')).runInspectCommand,
  call: async () => (await import('./commands/call.js')).runCallCommand,
  retry: async () => (await import('./commands/retry.js')).runRetryCommand,
  token: async () => (await import('./commands/token.js')).runTokenCommand,
  watch: async () => (await import('./commands/watch.js')).runWatchCommand,
  demo: async () => (await import('./commands/demo.js')).runDemoCommand,
  backup: async () => (await import('./commands/backup.js')).runBackupCommand,
  ai: async () => (await import('./commands/ai.js')).runAiCommand,
  config: async () => runConfigCommand,
}

async function runConfigCommand(config: Config, args: string[]): Promise<void> {
  if (args[0] === 'docs' || args[0] === 'example') {
    const { configDocs, envExample } = await import('./commands/config-docs.js')
    process.stdout.write(`${args[0] === 'docs' ? configDocs() : envExample()}\n`)
    return
  }
  if (args[0] !== 'check') fail('usage: npx pam config check|docs|example')
  const { describeMode } = await import('../platform/config.js')
  process.stdout.write(`configuration ok\n${JSON.stringify(describeMode(config), null, 2)}\n`)
}

async function dispatch(argv: string[]): Promise<void> {
  const [command, ...rest] = argv
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE)
    return
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    const help = commandHelp(command)
    if (!help) fail(`unknown command '${command}'\n\n${USAGE}`)
    process.stdout.write(help)
    return
  }
  // Checks a remote deployment: this machine's environment is not its business.
  if (command === 'verify') return (await import('./commands/verify.js')).runVerifyCommand(rest)
  const load = COMMANDS[command]
  if (!load) fail(`unknown command '${command}'\n\n${USAGE}`)
  const { ConfigError, loadConfig } = await import('../platform/config.js')
  let config: Config
  try {
    config = loadConfig(process.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`pam: ${error.message}\n`)
    process.exit(1)
  }
  // Before anything is created: every port this command needs, free (or chosen) at once.
  const { PortConflict, settleLocalPorts } = await import('./local/ports.js')
  const { embeddedServerPort } = await import('../platform/db/embedded.js')
  const needs = {
    api: command === 'start' || command === 'api',
    metrics: command === 'worker' || command === 'scheduler',
    embedded: !WITHOUT_DATABASE.has(command),
  }
  let ports: Awaited<ReturnType<typeof settleLocalPorts>>
  try {
    ports = await settleLocalPorts(config, process.env, needs, await embeddedServerPort(config.PAM_HOME))
  } catch (error) {
    if (!(error instanceof PortConflict)) throw error
    process.stderr.write(`pam: cannot start: ports ${error.message}\n`)
    process.exit(1)
  }
  config = ports.config
  for (const note of ports.notes) process.stderr.write(`pam: ${note}\n`)
  // Before any module reads the registry: each process of a deployment knows the same monitors.
  const { loadMonitorModules, MonitorModuleError } = await import('./monitor-modules.js')
  try {
    await loadMonitorModules(config.PAM_MONITORS)
  } catch (error) {
    if (!(error instanceof MonitorModuleError)) throw error
    process.stderr.write(`pam: ${error.message}\n`)
    process.exit(1)
  }
  if (ROLES.has(command) && !config.DATABASE_URL && process.stdout.isTTY) {
    // Loading the modules and initdb take seconds in which nothing else would be printed.
    const first = !existsSync(join(config.PAM_HOME, 'pgdata', 'PG_VERSION'))
    process.stdout.write(
      first
        ? `pam: first start: creating the embedded PostgreSQL under ${config.PAM_HOME}/ (once; npm start to ready measured 3-10 s on 2 cores with Node 22, by load)\n`
        : 'pam: starting\n',
    )
  }
  const run = await load()
  return run(config, rest, ports.remember)
}
