/**
 * `npm run bench:alert-text`: does the AI text of alerts cost the alert path anything? Both
 * modes, twice each: without AI keys, and with the fast model configured (a local fake Gemini
 * answering in BENCH_MODEL_DELAY_MS, default 300). BENCH_READINGS (default 300) fuel readings
 * alternate 8 % (a high alert, which gets an ai.alert-text job) and 90 % (resolved); each is
 * timed from the POST until its alert.created / alert.resolved arrives on the socket. Prints
 * p50/p99 per run and the model calls made (an alert resolved before its AI text arrives keeps
 * its template: the next reading resolves it within milliseconds). Asserts nothing.
 */
import { randomBytes } from 'node:crypto'
import { cpus } from 'node:os'
import { buildApiApp } from '../src/app/roles/api.js'
import { startFakeGemini } from '../test/helpers/fake-gemini.js'
import { withBenchDatabase } from './bench-database.js'
import { startStack } from './bench-stack.js'
import { percentile, timeWritesToSocket } from './write-to-socket.js'

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const READINGS = Number(process.env.BENCH_READINGS ?? 300)
const MODEL_DELAY_MS = Number(process.env.BENCH_MODEL_DELAY_MS ?? 300)
const SECRET = randomBytes(32).toString('base64url')

async function run(mode: 'redis' | 'postgres', withAi: boolean, databaseUrl: string) {
  const gemini = await startFakeGemini()
  gemini.state.delayMs = MODEL_DELAY_MS
  const stack = await startStack(mode, databaseUrl, {
    JWT_SECRET: SECRET,
    RATE_LIMIT_PER_MINUTE: '1000000',
    AI_USER_DAILY_BUDGET_USD: '100',
    ...(withAi ? { GEMINI_API_KEY: 'bench-key', GEMINI_BASE_URL: gemini.url } : {}),
  })
  const app = await buildApiApp(stack.deps, stack.producer)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as { port: number }).port
  try {
    const { latencies, stream } = await timeWritesToSocket(port, SECRET, READINGS, 8)
    // Let the last jobs finish before counting what was rewritten.
    await new Promise((resolve) => setTimeout(resolve, MODEL_DELAY_MS + 2_000))
    stream.close()
    const updated = stream.messages.filter((m) => m.type === 'alert.updated').length
    process.stdout.write(
      `${mode === 'redis' ? 'Redis mode' : 'Postgres-only mode'}, ${withAi ? `fast model on (fake, ${MODEL_DELAY_MS} ms)` : 'no AI keys'}: ` +
        `write→alert over ${READINGS} readings p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms; ` +
        `${updated} alert.updated, ${gemini.state.requests.length} model calls\n`,
    )
  } finally {
    await app.close()
    await stack.close()
    await gemini.close()
  }
}

process.stdout.write(
  `conditions: ${cpus().length} × ${cpus()[0]?.model.trim()}, node ${process.version}, API + worker (concurrency 8) + client in one process\n`,
)
for (const mode of ['redis', 'postgres'] as const) {
  for (const withAi of [false, true, false, true]) {
    await withBenchDatabase(ADMIN_URL, (url) => run(mode, withAi, url))
  }
}
