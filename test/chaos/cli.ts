/**
 * The chaos run from the command line: `npm run test:chaos` (CI: 3 minutes per mode, fails when
 * an invariant does) and `npm run bench:chaos` (30 minutes by default). Options:
 *   --minutes N                 load and faults for N minutes per mode
 *   --mode redis|postgres|both  default both, one after the other
 *   --seed N                    the fault schedule's seed (printed; the same seed replays it)
 *   --travellers N --vans N --rate N   the load: travellers, vans each, readings per second
 *   --keep-logs DIR             copy every process's log there (they are removed otherwise)
 * Everything it starts carries a run id (PAM_TEST_RUN, pam-test-<run>- folders, see
 * test/helpers/cleanup.ts), and is stopped and removed at the end, failed or cancelled.
 */
import { execFileSync } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

const MODES = ['redis', 'postgres'] as const

/** Runs the chaos test as `argv` asks, `minutes` long unless it says otherwise; exits 0 only if every invariant held. */
export async function chaosMain(argv: string[], defaults: { minutes: number }): Promise<never> {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string' },
      mode: { type: 'string', default: 'both' },
      seed: { type: 'string' },
      travellers: { type: 'string', default: '25' },
      vans: { type: 'string', default: '2' },
      rate: { type: 'string', default: '10' },
      'keep-logs': { type: 'string' },
    },
  })
  const number = (name: string, value: string | undefined, fallback: number) => {
    const parsed = value === undefined ? fallback : Number(value)
    if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`--${name} must be a positive number`)
    return parsed
  }
  const minutes = number('minutes', values.minutes, defaults.minutes)
  const seed = values.seed === undefined ? randomInt(2 ** 31) : Math.trunc(number('seed', values.seed, 1))
  const modes = values.mode === 'both' ? MODES : MODES.filter((mode) => mode === values.mode)
  if (modes.length === 0) throw new Error('--mode must be redis, postgres or both')

  // Before the harness is loaded: its modules read the run id and the build's location once.
  const ownRun = process.env.PAM_TEST_RUN === undefined
  const run = process.env.PAM_TEST_RUN ?? Date.now().toString(36)
  process.env.PAM_TEST_RUN = run
  execFileSync(
    process.execPath,
    [join('node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--noCheck'],
    {
      stdio: 'inherit',
    },
  )
  process.env.PAM_TEST_CLI = pathToFileURL(resolve('dist', 'app', 'cli.js')).href
  const { runChaos } = await import('./chaos.js')
  const { privateRedisUnavailable } = await import('../helpers/private-services.js')
  const { killRunProcesses, removeRunFolders } = await import('../helpers/leftovers.js')

  const log = (line: string) => process.stdout.write(`# ${line}\n`)
  const began = Date.now()
  let ok = true
  try {
    for (const mode of modes) {
      const missing = mode === 'redis' ? privateRedisUnavailable() : undefined
      if (missing) throw new Error(`Redis mode: ${missing}`)
      log(
        `${mode} mode, seed ${seed}: replay with npm run bench:chaos -- --minutes ${minutes} --mode ${mode} --seed ${seed}`,
      )
      const result = await runChaos({
        mode,
        seconds: minutes * 60,
        seed,
        travellers: number('travellers', values.travellers, 25),
        vehiclesPerTraveller: number('vans', values.vans, 2),
        rate: number('rate', values.rate, 10),
        apis: 2,
        workers: 2,
        settleMs: 90_000,
        log,
        ...(values['keep-logs'] ? { keepLogs: join(values['keep-logs'], mode) } : {}),
      })
      process.stdout.write(`${result.report}\n`)
      ok &&= result.ok
    }
  } catch (error) {
    process.stderr.write(`chaos run failed: ${(error as Error).stack}\n`)
    ok = false
  }
  if (ownRun) {
    const left = [...killRunProcesses(run), ...removeRunFolders(run)]
    if (left.length > 0) process.stdout.write(`left behind, now removed: ${left.join(', ')}\n`)
  }
  process.stdout.write(
    `chaos: ${ok ? 'every invariant held' : 'FAILED'}; wall time ${Math.round((Date.now() - began) / 1000)} s\n`,
  )
  process.exit(ok ? 0 : 1)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  await chaosMain(process.argv.slice(2), { minutes: 3 })
