/**
 * `npm run bench:scale`: the fuel sweep at each of BENCH_SCALE_VEHICLES vehicles (a list, default 1,000,000; four
 * per user), seeded with SQL, 20 % of them with a latest reading below the fuel threshold and a
 * position on a grid of 100 points (so the fake Overpass is asked at most 100 times). Both modes;
 * `pam worker` (concurrency 8, the heap cap the deploy files give it) in a process of its own, as
 * deployed. For each mode, in one run:
 *   1. the raw SQL anchor: a count(*) of the candidates and an INSERT … SELECT … ON CONFLICT DO
 *      NOTHING of the same alerts (rolled back, so the sweep still has them to make);
 *   2. the sweep, end to end until its monitor_runs row closes;
 *   3. the sweep again with nothing changed;
 *   4. the sweep again after BENCH_SCALE_NEW_READINGS (1,000) new low readings, each its own
 *      transaction, as PAM's write path commits them (the table's trigger marks the user);
 *   5. with BENCH_SCALE_ROUNDS=n (default 1), n - 1 more rounds of steps 1 and 2: no alert and no
 *      finished run left, the anchor, then the full sweep that makes every alert again. The
 *      anchor target takes the median of the rounds' ratios: one round's anchor alone moved
 *      2.1-3.2 s between runs minutes apart on the shared machine.
 * Prints seconds, vehicles/s, the ratio to the anchor, rows the database read (pg_stat) and the
 * worker's peak RSS (Linux's VmHWM), then whether the scale targets hold (docs/performance.md). Asserts nothing.
 * Beside the seconds, the CPU seconds each took (Linux's /proc): the anchor's of the bench database's
 * backends, the sweep's of the worker and of those backends. On a shared machine the seconds swing
 * with the load average, the CPU much less: compare a change's CPU.
 */
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import { queueCounts } from '../src/jobs/inspection.js'
import type { Db } from '../src/platform/db/database.js'
import { startFakeOverpass } from '../test/helpers/fake-overpass.js'
import type { PamProcess } from '../test/helpers/process.js'
import { settleSeed, withBenchDatabase } from './bench-database.js'
import { type Stack, startStack } from './bench-stack.js'
import { median } from './median.js'
import { cpuSeconds, databaseCpu } from './process-cpu.js'
import {
  fromNoAlerts,
  ROUNDS as TUNED_ROUNDS,
  TUNED_TARGET_RATIO,
  thresholdSweeps,
  tunedEnabled,
} from './scale-thresholds.js'
import { startWorkerProcess } from './worker-process.js'

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const VEHICLE_COUNTS = (process.env.BENCH_SCALE_VEHICLES ?? '1000000').split(',').map(Number)
const NEW_READINGS = Number(process.env.BENCH_SCALE_NEW_READINGS ?? 1000)
const MODES = (process.env.BENCH_MODES ?? 'redis,postgres').split(',') as ('redis' | 'postgres')[]
const ROUNDS = Number(process.env.BENCH_SCALE_ROUNDS ?? 1)
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error('BENCH_SCALE_ROUNDS: a whole number, 1 or more')
const BELOW_PERCENT = 20
// The worker's Node options: by default the heap cap docker-compose.yml and render.yaml give it
// (BENCH_NODE_OPTIONS= for V8's own sizing, or add --cpu-prof…).
const WORKER_NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS ?? '--max-old-space-size=256'

const TARGETS = {
  redis: { firstSeconds: 10 },
  postgres: { firstSeconds: 20 },
  anchorRatio: 3,
  unchangedSeconds: 1,
  afterWritesSeconds: 2,
  peakRssMb: 300,
}

async function seed(db: Db, vehicles: number) {
  const users = Math.ceil(vehicles / 4)
  await sql`insert into users (id) select gen_random_uuid() from generate_series(1, ${users})`.execute(db)
  await sql`insert into vehicles (user_id, name, fuel_capacity_l, consumption_l_per_100km, odometer_km)
            select u.id, 'van ' || n, 80, 12.5, 60000 from users u, generate_series(1, 4) n
            limit ${vehicles}`.execute(db)
  // Every fifth vehicle low (20 %); positions on a 10 × 10 grid around Moab.
  await sql`insert into fuel_readings (user_id, vehicle_id, percent, lat, lon, observed_at)
            select user_id, id,
                   case when row_number() over (order by id) % 5 = 0 then 12 else 65 end,
                   38 + (abs(hashtext(id::text)) % 10) * 0.1, -110 + (abs(hashtext(id::text) / 10) % 10) * 0.1,
                   now() - interval '1 hour'
            from vehicles`.execute(db)
  await settleSeed(db, { vacuum: true })
}

/** The same candidates and alerts in plain SQL, rolled back: what the database alone needs. */
async function anchor(
  db: Db,
  databaseUrl: string,
): Promise<{ seconds: number; databaseCpu: number; candidates: number; alerts: number }> {
  const databaseUsed = await databaseCpu(databaseUrl)
  const started = performance.now()
  let candidates = 0
  let alerts = 0
  await db
    .transaction()
    .execute(async (trx) => {
      const count = await sql<{ n: string }>`
        select count(*) as n from vehicles v
        cross join lateral (select percent from fuel_readings r where r.vehicle_id = v.id
                            order by observed_at desc, id desc limit 1) latest
        where latest.percent < ${BELOW_PERCENT}`.execute(trx)
      candidates = Number(count.rows[0]?.n)
      const inserted = await sql`
        insert into alerts (user_id, kind, priority, title, body, data, dedupe_key)
        select v.user_id, 'fuel_low', 'medium', 'Fuel low', 'Fuel is low', jsonb_build_object('vehicleId', v.id),
               'fuel:' || v.id || '|low'
        from vehicles v
        cross join lateral (select percent from fuel_readings r where r.vehicle_id = v.id
                            order by observed_at desc, id desc limit 1) latest
        where latest.percent < ${BELOW_PERCENT}
        on conflict do nothing`.execute(trx)
      alerts = Number(inserted.numAffectedRows ?? 0)
      throw new RolledBack()
    })
    .catch((error) => {
      if (!(error instanceof RolledBack)) throw error
    })
  const seconds = (performance.now() - started) / 1000
  return { seconds, databaseCpu: await databaseUsed(), candidates, alerts }
}

class RolledBack extends Error {}

/** Rows PostgreSQL has read from the bench database's tables so far (pg_stat, flushed). */
async function rowsRead(db: Db): Promise<number> {
  // Other backends flush their counters when idle, at most once a second.
  await sleep(1_100)
  const { rows } = await sql<{ n: string }>`
    select coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0) as n from pg_stat_user_tables`.execute(
    db,
  )
  return Number(rows[0]?.n)
}

interface Sweep {
  scope: string
  /** The worker's peak RSS when the sweep had finished (it only grows: compare the lines). */
  peakRssMb: number | undefined
  seconds: number
  /** CPU seconds of the worker process and of the bench database's backends (the bench's own polls too). */
  cpu: { worker: number; database: number }
  usersEvaluated: number
  alertsCreated: number
  rowsRead: number
}

/**
 * Waits until no job is waiting, active or delayed: what the last phase queued behind it (its
 * delivery batches) is done, so the next sweep is timed alone. Returns the seconds.
 */
async function settle(stack: Stack): Promise<number> {
  const started = performance.now()
  for (;;) {
    const counts = await queueCounts(stack.producer.queues)
    const busy = counts.reduce(
      (sum, { counts: c }) => sum + (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.active ?? 0) + (c.delayed ?? 0),
      0,
    )
    if (busy === 0) return (performance.now() - started) / 1000
    await sleep(200)
  }
}

async function sweep(stack: Stack, worker: PamProcess): Promise<Sweep> {
  const { db } = stack.deps
  const before = await rowsRead(db)
  const known = await db.selectFrom('monitor_runs').select('id').where('monitor', '=', 'fuel').execute()
  const workerCpu = () => cpuSeconds({ worker: worker.child.pid }).worker ?? 0
  const databaseUsed = await databaseCpu(stack.env.DATABASE_URL ?? '')
  const workerBefore = workerCpu()
  const started = performance.now()
  await stack.producer.enqueue('monitor.fuel.sweep', {})
  for (;;) {
    const run = await db
      .selectFrom('monitor_runs')
      .select(['scope', 'users_evaluated', 'alerts_created', 'status'])
      .where('monitor', '=', 'fuel')
      .where('finished_at', 'is not', null)
      .$if(known.length > 0, (q) =>
        q.where(
          'id',
          'not in',
          known.map((r) => r.id),
        ),
      )
      .executeTakeFirst()
    if (run) {
      const seconds = (performance.now() - started) / 1000
      const cpu = { worker: workerCpu() - workerBefore, database: await databaseUsed() }
      return {
        scope: run.scope,
        peakRssMb: await peakRssMbOf(worker),
        seconds,
        cpu,
        usersEvaluated: run.users_evaluated,
        alertsCreated: run.alerts_created,
        rowsRead: (await rowsRead(db)) - before,
      }
    }
    await sleep(50)
  }
}

/** New low readings on the first vehicles, each committed alone (its trigger marks its user), as the write path does. */
async function writeReadings(db: Db) {
  const vehicles = await db.selectFrom('vehicles').select(['id', 'user_id']).orderBy('id').limit(NEW_READINGS).execute()
  for (const vehicle of vehicles) {
    await db
      .insertInto('fuel_readings')
      .values({
        user_id: vehicle.user_id,
        vehicle_id: vehicle.id,
        percent: '8',
        lat: 38.5,
        lon: -109.5,
        observed_at: new Date(),
      })
      .execute()
  }
}

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024)
const peakRssMb = () => mb(process.resourceUsage().maxRSS * 1024)

/** A process's peak resident set so far (Linux's VmHWM); undefined where /proc has no such line. */
async function peakRssMbOf(pam: PamProcess): Promise<number | undefined> {
  const status = await readFile(`/proc/${pam.child.pid}/status`, 'utf8').catch(() => '')
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]
  return kb === undefined ? undefined : Math.round(Number(kb) / 1024)
}

const verdict = (ok: boolean) => (ok ? 'holds' : 'MISSED')

async function run(mode: 'redis' | 'postgres', databaseUrl: string, vehicles: number) {
  const overpass = await startFakeOverpass()
  const stack = await startStack(
    mode,
    databaseUrl,
    {
      JWT_SECRET: randomBytes(32).toString('base64url'),
      PLACES_API_URL: overpass.url,
      FUEL_MEDIUM_BELOW_PERCENT: String(BELOW_PERCENT),
    },
    0,
  )
  let worker: PamProcess | undefined
  try {
    worker = await startWorkerProcess(
      { ...stack.env, ...(WORKER_NODE_OPTIONS ? { NODE_OPTIONS: WORKER_NODE_OPTIONS } : {}) },
      8,
    )
    const seededAt = performance.now()
    await seed(stack.deps.db, vehicles)
    const seedSeconds = (performance.now() - seededAt) / 1000
    const base = await anchor(stack.deps.db, databaseUrl)
    const idleRssMb = await peakRssMbOf(worker)
    const first = await sweep(stack, worker)
    const deliveries = await settle(stack)
    const unchanged = await sweep(stack, worker)
    await writeReadings(stack.deps.db)
    await settle(stack)
    const afterWrites = await sweep(stack, worker)
    // Read before the rounds, as it always was: more rounds must not make the target harder to hold.
    const peakRss = await peakRssMbOf(worker)
    // Each round's anchor and sweep run one after the other, so both meet the same minute of load.
    const rounds = [{ anchor: base, sweep: first }]
    while (rounds.length < ROUNDS) {
      await fromNoAlerts(stack.deps.db, () => settle(stack))
      rounds.push({ anchor: await anchor(stack.deps.db, databaseUrl), sweep: await sweep(stack, worker) })
    }
    const anchorRatio = median(rounds.map((round) => round.sweep.seconds / round.anchor.seconds))
    const running = worker
    const thresholds = tunedEnabled
      ? await thresholdSweeps(
          stack.deps.db,
          () => sweep(stack, running),
          () => settle(stack),
        )
      : undefined
    const line = (name: string, s: Sweep, against = base) =>
      `  ${name.padEnd(22)} ${s.seconds.toFixed(2).padStart(7)} s  ${Math.round(vehicles / s.seconds)
        .toLocaleString('en')
        .padStart(
          10,
        )} vehicles/s  ×${(s.seconds / against.seconds).toFixed(1)} anchor  CPU: worker ${s.cpu.worker.toFixed(1)} s, database ${s.cpu.database.toFixed(1)} s (×${((s.cpu.worker + s.cpu.database) / against.databaseCpu).toFixed(1)} anchor's)  ${s.scope}: ${s.usersEvaluated} users evaluated, ${s.alertsCreated} alerts created, ${s.rowsRead.toLocaleString('en')} rows read, peak RSS ${s.peakRssMb} MB`
    const anchorLine = (name: string, a: typeof base) =>
      `  ${name.padEnd(22)} ${a.seconds.toFixed(2).padStart(7)} s  database CPU ${a.databaseCpu.toFixed(1)} s  ${a.candidates} candidates, ${a.alerts} alerts (rolled back)`
    const target = TARGETS[mode]
    process.stdout.write(
      [
        `${mode === 'redis' ? 'Redis mode' : 'Postgres-only mode'}, ${vehicles.toLocaleString('en')} vehicles: seeded in ${seedSeconds.toFixed(0)} s; places requests ${overpass.state.requests}; load average ${(loadavg()[0] ?? 0).toFixed(1)}`,
        anchorLine('raw SQL anchor', base),
        line('sweep', first),
        `  ${'then its deliveries'.padEnd(22)} ${deliveries.toFixed(2).padStart(7)} s  (what was still queued behind it: notify.deliver jobs of up to 200 alerts; settled before each timed sweep)`,
        line('sweep, nothing changed', unchanged),
        line(`sweep, ${NEW_READINGS} new readings`, afterWrites),
        ...rounds
          .slice(1)
          .flatMap((round, index) => [
            anchorLine(`round ${index + 2}: anchor`, round.anchor),
            line(`round ${index + 2}: sweep`, round.sweep, round.anchor),
          ]),
        `  peak RSS of the worker process: ${peakRss ?? 'n/a'} MB (${idleRssMb ?? 'n/a'} MB before the first sweep); ` +
          `of this process (seeding, anchor, bench): ${peakRssMb()} MB`,
        `  targets: first ≤ ${target.firstSeconds} s ${verdict(first.seconds <= target.firstSeconds)}` +
          `, within ${TARGETS.anchorRatio}× anchor: ${anchorRatio.toFixed(1)}× ` +
          (rounds.length > 1 ? `(median of ${rounds.length} rounds) ` : '') +
          verdict(anchorRatio <= TARGETS.anchorRatio) +
          `; unchanged ≤ ${TARGETS.unchangedSeconds} s ${verdict(unchanged.seconds <= TARGETS.unchangedSeconds)}` +
          `; after writes ≤ ${TARGETS.afterWritesSeconds} s ${verdict(afterWrites.seconds <= TARGETS.afterWritesSeconds)}` +
          `; worker's peak RSS < ${TARGETS.peakRssMb} MB ${peakRss === undefined ? 'n/a' : verdict(peakRss < TARGETS.peakRssMb)}`,
        ...(thresholds
          ? [
              line('full sweep, no own thresholds', thresholds.plain),
              line(`full sweep, ${thresholds.travellers} travellers' own/learned thresholds`, thresholds.tuned),
              `  traveller thresholds: ×${thresholds.ratio.toFixed(2)} the same full sweep without (best of ${TUNED_ROUNDS} each, from no alerts); ≤ ${TUNED_TARGET_RATIO}× ${verdict(thresholds.ratio <= TUNED_TARGET_RATIO)}`,
            ]
          : []),
        '',
      ].join('\n'),
    )
  } finally {
    await worker?.stop('SIGTERM')
    await stack.close()
    await overpass.close()
  }
}

process.stdout.write(
  `conditions: ${cpus().length} × ${cpus()[0]?.model.trim()}, node ${process.version}, ${VEHICLE_COUNTS.map((n) => n.toLocaleString('en')).join(' and ')} vehicles ` +
    `(four per user), 20 % below ${BELOW_PERCENT} %, pam worker (concurrency 8, source via tsx, NODE_OPTIONS=${WORKER_NODE_OPTIONS || '(none)'}) in its own process, ` +
    `local PostgreSQL and Redis, fake Overpass on loopback\n`,
)
for (const vehicles of VEHICLE_COUNTS)
  for (const mode of MODES) await withBenchDatabase(ADMIN_URL, (url) => run(mode, url, vehicles))
