/**
 * `npm run bench:briefings`: the daily briefing sweep over BENCH_BRIEFING_USERS travellers
 * (default 1,000), both modes, against local fake Anthropic and Gemini servers (the fake
 * Anthropic counts tokens and caches the marked system prompt as Anthropic does). Every traveller
 * has a budget at 80 %, a planned trip and a month of fuel readings; their morning is now. Prints
 * the ledger: calls, tokens, cache reads and writes, cost, and how long the sweep took. Asserts
 * nothing.
 */
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import { deploymentUsage } from '../src/ai/ai-usage-repository.js'
import { utcDay } from '../src/ai/budget.js'
import type { Db } from '../src/platform/db/database.js'
import { startFakeAnthropic } from '../test/helpers/fake-anthropic.js'
import { startFakeGemini } from '../test/helpers/fake-gemini.js'
import { settleSeed, withBenchDatabase } from './bench-database.js'
import { startStack } from './bench-stack.js'

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const USERS = Number(process.env.BENCH_BRIEFING_USERS ?? 1_000)

async function seed(db: Db) {
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10)
  await sql`insert into users (id) select gen_random_uuid() from generate_series(1, ${USERS})`.execute(db)
  await sql`insert into budgets (user_id, category, amount, currency, period)
            select id, 'food', 500, 'USD', 'month' from users`.execute(db)
  await sql`insert into expenses (user_id, amount, currency, category, spent_at)
            select id, 400, 'USD', 'food', now() from users`.execute(db)
  await sql`insert into trips (user_id, name, destination_name, destination_lat, destination_lon, depart_from, depart_until, days)
            select id, 'Arches', 'Moab', 38.57, -109.55, ${day(2)}::date, ${day(9)}::date, 4 from users`.execute(db)
  await sql`insert into vehicles (user_id, name, fuel_capacity_l, consumption_l_per_100km, odometer_km)
            select id, 'van', 80, 12.5, 60000 from users`.execute(db)
  await sql`insert into fuel_readings (user_id, vehicle_id, percent, observed_at)
            select v.user_id, v.id, p.percent, now() - (p.n || ' days')::interval
            from vehicles v, (values (1, 30), (3, 95), (6, 22), (9, 70)) as p(n, percent)`.execute(db)
  await settleSeed(db)
}

async function run(mode: 'redis' | 'postgres', databaseUrl: string) {
  const anthropic = await startFakeAnthropic()
  const gemini = await startFakeGemini()
  anthropic.state.emulateCache = true
  anthropic.state.reply = () => ({
    summary: 'Food spending is ahead of pace; a clear window for Moab opens soon.',
    sections: [
      {
        title: 'Food budget ahead of pace',
        body: 'You have spent 80 % of the food budget; about 11 USD a day keeps it.',
      },
      { title: 'Moab window', body: 'Clear days are forecast; leave on the first one.' },
    ],
  })
  const stack = await startStack(mode, databaseUrl, {
    JWT_SECRET: randomBytes(32).toString('base64url'),
    ANTHROPIC_API_KEY: 'bench-key',
    GEMINI_API_KEY: 'bench-key',
    ANTHROPIC_BASE_URL: anthropic.url,
    GEMINI_BASE_URL: gemini.url,
    // Room for every briefing: the bench measures the path, not the cap.
    AI_DAILY_BUDGET_USD: '1000',
    AI_USER_DAILY_BUDGET_USD: '1',
    BRIEFING_LOCAL_HOUR: String(new Date().getUTCHours()),
  })
  const { db } = stack.deps
  try {
    await seed(db)
    const started = performance.now()
    await stack.producer.enqueue('ai.briefings.sweep', {})
    let ready = 0
    for (;;) {
      const row = await db
        .selectFrom('briefings')
        .select(sql<string>`count(*) filter (where status = 'ready')`.as('ready'))
        .executeTakeFirstOrThrow()
      ready = Number(row.ready)
      if (ready >= USERS || performance.now() - started > 600_000) break
      await sleep(200)
    }
    const seconds = (performance.now() - started) / 1000
    const usage = await deploymentUsage(db, utcDay(new Date()))
    console.log(
      `\n${mode} mode: ${ready} of ${USERS} briefings written in ${seconds.toFixed(1)} s (${(ready / seconds).toFixed(0)}/s, worker concurrency 8)`,
    )
    console.log(`spent $${usage.spentUsd.toFixed(4)} (ledger)`)
    for (const m of usage.models) {
      console.log(
        `${m.provider} ${m.model}: ${m.calls} calls (${m.failed} failed, ${m.refused} refused), input ${m.inputTokens}, output ${m.outputTokens}, cache write ${m.cacheWriteTokens}, cache read ${m.cacheReadTokens} tokens, ${m.cacheHits} cache hits, $${m.costUsd.toFixed(4)}`,
      )
    }
  } finally {
    await stack.close()
    await anthropic.close()
    await gemini.close()
  }
}

for (const mode of ['redis', 'postgres'] as const) await withBenchDatabase(ADMIN_URL, (url) => run(mode, url))
