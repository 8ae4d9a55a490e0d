/**
 * `npm run bench:sweeps`: each of the five sweeps over BENCH_SWEEP_USERS users (default
 * 100,000), both modes. Every user has a vehicle (latest reading 15 %, with a position), an
 * overdue maintenance item, a food budget at 90 %, a planned trip with a clear window and a
 * confident location signal, so every user gets one alert per monitor. Providers are local fake
 * Open-Meteo and Overpass servers; everyone shares one destination and one position, so the
 * provider is asked once per sweep and the rest comes from the cache. Worker (concurrency 8)
 * in this process. Prints; asserts nothing.
 */
import { randomBytes } from 'node:crypto'
import { cpus } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import type { Db } from '../src/platform/db/database.js'
import { startFakeOpenMeteo } from '../test/helpers/fake-open-meteo.js'
import { startFakeOverpass } from '../test/helpers/fake-overpass.js'
import { settleSeed, withBenchDatabase } from './bench-database.js'
import { startStack } from './bench-stack.js'

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const USERS = Number(process.env.BENCH_SWEEP_USERS ?? 100_000)
const MONITORS = ['fuel', 'budget', 'weather', 'maintenance', 'context'] as const

async function seed(db: Db) {
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10)
  await sql`insert into users (id) select gen_random_uuid() from generate_series(1, ${USERS})`.execute(db)
  await sql`insert into vehicles (user_id, name, fuel_capacity_l, consumption_l_per_100km, odometer_km)
            select id, 'van', 80, 12.5, 60000 from users`.execute(db)
  await sql`insert into fuel_readings (user_id, vehicle_id, percent, lat, lon, observed_at)
            select user_id, id, 15, 38.57, -109.55, now() - interval '1 hour' from vehicles`.execute(db)
  await sql`insert into maintenance_items (user_id, vehicle_id, name, interval_km, last_done_km, last_done_at)
            select user_id, id, 'Oil change', 5000, 54000, now() - interval '120 days' from vehicles`.execute(db)
  await sql`insert into budgets (user_id, category, amount, currency, period)
            select id, 'food', 400, 'USD', 'month' from users`.execute(db)
  await sql`insert into expenses (user_id, amount, currency, category, spent_at)
            select id, 360, 'USD', 'food', now() from users`.execute(db)
  await sql`insert into trips (user_id, name, destination_name, destination_lat, destination_lon, depart_from, depart_until, days)
            select id, 'Arches', 'Moab', 38.57, -109.55, ${day(0)}::date, ${day(10)}::date, 3 from users`.execute(db)
  await sql`insert into context_signals (user_id, kind, value, confidence, observed_at)
            select id, 'location', 'Moab', 0.9, now() - interval '1 hour' from users`.execute(db)
  await settleSeed(db)
}

async function run(mode: 'redis' | 'postgres', databaseUrl: string) {
  const meteo = await startFakeOpenMeteo()
  const overpass = await startFakeOverpass()
  const stack = await startStack(mode, databaseUrl, {
    JWT_SECRET: randomBytes(32).toString('base64url'),
    WEATHER_API_URL: meteo.url,
    PLACES_API_URL: overpass.url,
  })
  const { db } = stack.deps
  try {
    await seed(db)
    const rows: string[] = []
    for (const monitor of MONITORS) {
      const started = performance.now()
      await stack.producer.enqueue(`monitor.${monitor}.sweep`, {})
      let run: { users_evaluated: number; alerts_created: number; status: string } | undefined
      while (!run) {
        await sleep(100)
        run = await db
          .selectFrom('monitor_runs')
          .select(['users_evaluated', 'alerts_created', 'status'])
          .where('monitor', '=', monitor)
          .where('finished_at', 'is not', null)
          .executeTakeFirst()
      }
      const seconds = (performance.now() - started) / 1000
      rows.push(
        `  ${monitor.padEnd(12)} ${run.users_evaluated} users in ${seconds.toFixed(1)} s: ${Math.round(run.users_evaluated / seconds)} users/s, ` +
          `${run.alerts_created} alerts created (${run.status})`,
      )
    }
    process.stdout.write(
      `${mode === 'redis' ? 'Redis mode' : 'Postgres-only mode'} (provider requests: weather ${meteo.state.requests}, places ${overpass.state.requests}):\n${rows.join('\n')}\n`,
    )
  } finally {
    await stack.close()
    await meteo.close()
    await overpass.close()
  }
}

process.stdout.write(
  `conditions: ${cpus().length} × ${cpus()[0]?.model.trim()}, node ${process.version}, ${USERS} users, one worker process (concurrency 8), local PostgreSQL and Redis, fake providers on loopback\n`,
)
for (const mode of ['redis', 'postgres'] as const) await withBenchDatabase(ADMIN_URL, (url) => run(mode, url))
