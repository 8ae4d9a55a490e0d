import { parseArgs } from 'node:util'
import { runBackupCommand } from './commands/backup.js'
import { runCallCommand } from './commands/call.js'
import { configDocs, envExample } from './commands/config-docs.js'
import { runDemoCommand } from './commands/demo.js'
import { runInspectCommand } from './commands/inspect.js'
import { runMigrateCommand } from './commands/migrate.js'
import { UsageError } from './commands/ops-deps.js'
import { runRetryCommand } from './commands/retry.js'
import { runTokenCommand } from './commands/token.js'
import { runVerifyCommand } from './commands/verify.js'
import { type Config, ConfigError, describeMode, loadConfig, workerQueues } from './config.js'
import { QUEUE_NAMES, type QueueName } from './jobs/queues.js'
import { startApi } from './roles/api.js'
import { withMetricsEndpoint } from './roles/metrics-endpoint.js'
import { runRole } from './roles/run.js'
import { startScheduler } from './roles/scheduler.js'
import { waitForStore } from './roles/wait-for-store.js'
import { startWorker } from './roles/worker.js'

const USAGE = `usage: pam <command>

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
  demo [--timeout S]          a demo traveller whose data trips all five monitors; prints their alerts
  token --user <uuid> [--ttl 1h]
                              mint a dev user token from the configured JWT_SECRET (not in production)
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
  return entries.length > 0 ? `usage: pam <command>, where <command> is\n${entries.join('\n')}\n` : undefined
}

function fail(message: string): never {
  process.stderr.write(`pam: ${message}\n`)
  process.exit(2)
}

function workerOptions(config: Config, args: string[]) {
  const { values } = parseArgs({
    args,
    options: { queues: { type: 'string' }, concurrency: { type: 'string' } },
    strict: true,
  })
  const queues = values.queues ? values.queues.split(',').map((name) => name.trim()) : [...workerQueues(config)]
  const unknown = queues.filter((name) => !(QUEUE_NAMES as readonly string[]).includes(name))
  if (unknown.length > 0) fail(`--queues: unknown queue ${unknown.join(', ')} (known: ${QUEUE_NAMES.join(', ')})`)
  const concurrency = values.concurrency === undefined ? config.WORKER_CONCURRENCY : Number(values.concurrency)
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256)
    fail('--concurrency must be a whole number from 1 to 256')
  return { queues: queues as QueueName[], concurrency }
}

export async function main(argv: string[]): Promise<void> {
  try {
    await dispatch(argv)
  } catch (error) {
    const code = (error as { code?: string }).code ?? ''
    if (!(error instanceof UsageError) && !code.startsWith('ERR_PARSE_ARGS')) throw error
    fail((error as Error).message)
  }
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
  if (command === 'verify') return runVerifyCommand(rest)
  let config: Config
  try {
    config = loadConfig(process.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`pam: ${error.message}\n`)
    process.exit(1)
  }

  switch (command) {
    case 'start': {
      const worker = workerOptions(config, rest)
      return runRole(config, 'all', async (deps, signal) => {
        // Migrated first, BullMQ's schema included: no queue or worker is built before its store.
        await waitForStore(deps, signal)
        const api = await startApi(deps, signal)
        const workers = await startWorker(deps, signal, worker)
        const scheduler = await startScheduler(deps, signal)
        return {
          async stop() {
            await api.stop()
            await workers.stop()
            await scheduler.stop()
          },
        }
      })
    }
    case 'api':
      return runRole(config, 'api', startApi)
    case 'worker': {
      const options = workerOptions(config, rest)
      return runRole(
        config,
        'worker',
        withMetricsEndpoint('pam-worker', (deps, signal) => startWorker(deps, signal, options)),
      )
    }
    case 'scheduler':
      return runRole(config, 'scheduler', withMetricsEndpoint('pam-scheduler', startScheduler))
    case 'migrate':
      return runMigrateCommand(config, rest[0])
    case 'inspect':
      return runInspectCommand(config, rest)
    case 'call':
      return runCallCommand(config, rest)
    case 'retry':
      return runRetryCommand(config, rest)
    case 'token':
      return runTokenCommand(config, rest)
    case 'demo':
      return runDemoCommand(config, rest)
    case 'backup':
      return runBackupCommand(config, rest)
    case 'config':
      if (rest[0] === 'docs') {
        process.stdout.write(`${configDocs()}\n`)
        return
      }
      if (rest[0] === 'example') {
        process.stdout.write(`${envExample()}\n`)
        return
      }
      if (rest[0] !== 'check') fail('usage: pam config check|docs|example')
      process.stdout.write(`configuration ok\n${JSON.stringify(describeMode(config), null, 2)}\n`)
      return
    default:
      fail(`unknown command '${command}'\n\n${USAGE}`)
  }
}
