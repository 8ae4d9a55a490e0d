/**
 * `npm run bench`: time from `pam start` to GET /ready = 200 (first start, which creates the
 * embedded database, and a second start on the same data), Ctrl-C to exit, the idle memory of
 * the running system, and `pam --help`. Prints its figures and the conditions (the load average
 * too: on a shared machine it changes the figures several-fold); asserts nothing.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { freePort, get, spawnPam } from '../test/helpers/process.js'
import { median } from './median.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 10)

function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
}

/** Proportional set size: shared memory split between the processes that map it. */
function pssKb(pid: number): number {
  // A backend may exit between listing and reading; it then holds no memory.
  if (!existsSync(`/proc/${pid}/smaps_rollup`)) return 0
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
  return Number(/Pss:\s+(\d+)/.exec(rollup)?.[1] ?? 0)
}

/**
 * Memory of the embedded PostgreSQL serving `dataDir` (postmaster and its children), as PSS:
 * summing RSS would count the shared buffers once per process.
 */
function postgresPssKb(dataDir: string): number {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
  const children = execFileSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map(Number)
  return [postmaster, ...children].reduce((sum, pid) => sum + pssKb(pid), 0)
}

async function untilReady(port: number, output: () => string): Promise<number> {
  const started = performance.now()
  for (;;) {
    if ((await get(`http://127.0.0.1:${port}/ready`)).status === 200) return performance.now() - started
    if (performance.now() - started > 120_000) throw new Error(`not ready after 120 s: ${output()}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

async function helpTimes(): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now()
    const pam = spawnPam(['--help'], {})
    if ((await pam.exited) !== 0) throw new Error(`pam --help failed: ${pam.output()}`)
    times.push(performance.now() - started)
  }
  return times
}

async function run() {
  const loadBefore = loadavg()[0] ?? 0
  const help = await helpTimes()
  const first: number[] = []
  const second: number[] = []
  const stop: number[] = []
  const nodeRss: number[] = []
  const pgRss: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const home = mkdtempSync(join(tmpdir(), 'pam-bench-'))
    chmodSync(home, 0o755)
    const port = await freePort()
    const env = {
      PAM_HOME: home,
      PORT: String(port),
      EMBEDDED_DATABASE_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
    }
    for (const [index, times] of [first, second].entries()) {
      const started = performance.now()
      const pam = spawnPam(['start'], env)
      await untilReady(port, pam.output)
      times.push(performance.now() - started)
      if (index === 1) {
        await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000))
        nodeRss.push(rssKb(pam.child.pid ?? 0))
        pgRss.push(postgresPssKb(join(home, 'pgdata')))
      }
      const stopping = performance.now()
      const code = await pam.stop('SIGINT')
      stop.push(performance.now() - stopping)
      if (code !== 0) throw new Error(`pam start exited ${code}: ${pam.output()}`)
    }
    rmSync(home, { recursive: true, force: true })
  }
  const ms = (values: number[]) => `${Math.round(median(values))} ms (runs: ${values.map(Math.round).join(', ')})`
  const mb = (values: number[]) => `${(median(values) / 1024).toFixed(0)} MiB`
  process.stdout.write(
    [
      `conditions: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ${RUNS} runs, embedded PostgreSQL, Postgres-only mode, source run through tsx, load average ${loadBefore.toFixed(1)} before, ${(loadavg()[0] ?? 0).toFixed(1)} after`,
      `pam --help:                                       median ${ms(help)}`,
      `first start → /ready 200 (creates the database): median ${ms(first)}`,
      `second start → /ready 200 (same data):           median ${ms(second)}`,
      `SIGINT → exit 0:                                  median ${ms(stop)}`,
      `idle RSS after ${IDLE_SECONDS} s, pam start (node):         median ${mb(nodeRss)}`,
      `idle PSS after ${IDLE_SECONDS} s, embedded PostgreSQL (all processes): median ${mb(pgRss)}`,
      '',
    ].join('\n'),
  )
}

await run()
