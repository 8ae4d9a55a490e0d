/**
 * bench:scale's block for per-traveller thresholds (issue 31): the fuel monitor's full sweep with
 * TUNED_SHARE of travellers holding their own or a learned medium threshold, against the same full
 * sweep with none, in the same run on the same data, each from no alerts (so both make the same
 * alerts: the own 25 % and learned 15 % keep the seed's 12 % vehicles low and its 65 % ones not).
 * Alternated ROUNDS times, the fastest of each kept: what is measured is the thresholds' cost, not the
 * machine's noise. BENCH_SCALE_TUNED=0 leaves it out.
 */
import { sql } from 'kysely'
import type { Db } from '../src/platform/db/database.js'

const TUNED_SHARE = 0.1
export const ROUNDS = 3
export const TUNED_TARGET_RATIO = 1.2
export const tunedEnabled = process.env.BENCH_SCALE_TUNED !== '0'

interface Timed {
  seconds: number
  usersEvaluated: number
  alertsCreated: number
}

/** Every tenth traveller with a fuel threshold of their own: half set by them, half learned. */
async function tuneTravellers(db: Db): Promise<number> {
  const every = Math.round(1 / TUNED_SHARE)
  const inserted = await sql`
    insert into traveller_thresholds (user_id, monitor, name, value, source, reason)
    select id, 'fuel', 'mediumBelowPercent',
           case when n % (2 * ${every}) = 0 then 25 else 15 end,
           case when n % (2 * ${every}) = 0 then 'own' else 'learned' end,
           case when n % (2 * ${every}) = 0 then null else 'you marked three alerts at 20 % not useful' end
    from (select id, row_number() over (order by id) as n from users) u
    where n % ${every} = 0`.execute(db)
  await sql`analyze traveller_thresholds`.execute(db)
  return Number(inserted.numAffectedRows ?? 0)
}

/** No alert and no finished run: the next sweep is a full one that makes every alert again. */
async function fromScratch(db: Db) {
  await sql`delete from alerts`.execute(db)
  await sql`delete from monitor_runs where monitor = 'fuel'`.execute(db)
  await sql`vacuum analyze alerts`.execute(db)
}

export async function thresholdSweeps<S extends Timed>(
  db: Db,
  fullSweep: () => Promise<S>,
  settle: () => Promise<unknown>,
): Promise<{ plain: S; tuned: S; travellers: number; ratio: number }> {
  let plain: S | undefined
  let tuned: S | undefined
  let travellers = 0
  for (let round = 0; round < ROUNDS; round++) {
    await sql`delete from traveller_thresholds`.execute(db)
    await fromScratch(db)
    await settle()
    const untuned = await fullSweep()
    if (!plain || untuned.seconds < plain.seconds) plain = untuned
    travellers = await tuneTravellers(db)
    await settle()
    await fromScratch(db)
    const withThresholds = await fullSweep()
    if (!tuned || withThresholds.seconds < tuned.seconds) tuned = withThresholds
  }
  await settle()
  if (!plain || !tuned) throw new Error('no sweep ran')
  return { plain, tuned, travellers, ratio: tuned.seconds / plain.seconds }
}
