/**
 * `npm run bench:console`: how long from a write to its alert on the console's screen? Both
 * modes: an API with a worker (concurrency 8) in this process, the console in headless Chromium
 * (Debian's, as the browser tests use), signed in as a new traveller with BENCH_WRITES (default 50)
 * vehicles. Each write is one fuel reading of 8 % for the next vehicle (a new alert each time),
 * timed from just before the POST until the row is in the page's DOM (a MutationObserver in the
 * page stamps it; same machine, same clock). The yardstick, in the same run: the same write until
 * its alert.created reaches a client.watch() in this process, so the ratio is what the page adds
 * (its own socket, Preact's render) to PAM's path. Asserts nothing.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { cpus, loadavg } from 'node:os'
import { watch } from '../client/src/index.js'
import { buildApiApp } from '../src/app/roles/api.js'
import { mintDevToken } from '../src/http/auth/dev-token.js'
import { VEHICLE } from '../test/helpers/api.js'
import { CHROMIUM, launchBrowser, noBrowser } from '../test/helpers/browser.js'
import { withBenchDatabase } from './bench-database.js'
import { startStack } from './bench-stack.js'
import { percentile } from './write-to-socket.js'

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const WRITES = Number(process.env.BENCH_WRITES ?? 50)
const SECRET = randomBytes(32).toString('base64url')

// Installed in the page: when each alert's row first appears.
const STAMP_ROWS = `window.__seen = {};
new MutationObserver(() => {
  for (const row of document.querySelectorAll('li.alert'))
    if (!(row.dataset.alertId in window.__seen)) window.__seen[row.dataset.alertId] = Date.now()
}).observe(document.body, { childList: true, subtree: true })`

async function run(mode: 'redis' | 'postgres', databaseUrl: string) {
  const stack = await startStack(mode, databaseUrl, { JWT_SECRET: SECRET, RATE_LIMIT_PER_MINUTE: '1000000' })
  const app = await buildApiApp(stack.deps, stack.producer)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const browser = await launchBrowser()
  const token = await mintDevToken({ secret: SECRET, userId: randomUUID(), ttl: '1h', audience: 'authenticated' })
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) })
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`)
    return (await response.json()) as { id: string }
  }
  // The alert id each vehicle's write made, as the yardstick receives it.
  const arrivals = new Map<string, (alertId: string) => void>()
  const yardstick = watch({
    baseUrl: base,
    token,
    onEvent: (event) => {
      if (event.type !== 'alert.created') return
      arrivals.get(String((event.alert.data as { vehicleId?: string }).vehicleId))?.(event.alert.id)
    },
  })
  try {
    const vehicles = []
    for (let i = 0; i < WRITES; i++) vehicles.push(await post('/v1/vehicles', { ...VEHICLE, name: `Van ${i}` }))
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    await page.goto(`${base}/console`)
    await page.getByLabel('Token').fill(token)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.getByText('live', { exact: true }).waitFor()
    await page.evaluate(STAMP_ROWS)

    const toStream: number[] = []
    const toScreen: number[] = []
    for (const vehicle of vehicles) {
      const arrived = new Promise<string>((resolve) => arrivals.set(vehicle.id, resolve))
      const started = Date.now()
      await post(`/v1/vehicles/${vehicle.id}/fuel-readings`, { percent: 8 })
      const alertId = await arrived
      toStream.push(Date.now() - started)
      const seenAt = async () =>
        (await page.evaluate(`window.__seen[${JSON.stringify(alertId)}]`)) as number | undefined
      let seen = await seenAt()
      while (seen === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 5))
        seen = await seenAt()
      }
      toScreen.push(seen - started)
    }
    toStream.sort((a, b) => a - b)
    toScreen.sort((a, b) => a - b)
    const p = (values: number[], q: number) => percentile(values, q).toFixed(0)
    process.stdout.write(
      `${mode === 'redis' ? 'Redis mode' : 'Postgres-only mode'}, ${WRITES} writes: write→alert on screen p50 ${p(toScreen, 50)} ms, ` +
        `p90 ${p(toScreen, 90)} ms, max ${p(toScreen, 100)} ms; yardstick write→client.watch() event p50 ${p(toStream, 50)} ms, ` +
        `p90 ${p(toStream, 90)} ms; screen/stream p50 ratio ${(percentile(toScreen, 50) / percentile(toStream, 50)).toFixed(2)}\n`,
    )
  } finally {
    yardstick.close()
    await browser.close()
    await app.close()
    await stack.close()
  }
}

if (noBrowser) {
  process.stderr.write(`bench:console: ${noBrowser}\n`)
  process.exit(1)
}
// The console as npm start serves it.
execFileSync(process.execPath, ['console/build.mjs', '--if-stale'], { stdio: 'inherit' })
process.stdout.write(
  `conditions: ${cpus().length} × ${cpus()[0]?.model.trim()}, load ${loadavg()[0]?.toFixed(1)}, node ${process.version}, ` +
    `${CHROMIUM} headless; API + worker (concurrency 8) + yardstick client in one process\n`,
)
for (const mode of ['postgres', 'redis'] as const) await withBenchDatabase(ADMIN_URL, (url) => run(mode, url))
