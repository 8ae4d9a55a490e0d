import { sql } from 'kysely'
import type { Db } from '../../../platform/db/database.js'
import { trips } from '../../../travellers/trips/trip-repository.js'
import { addOpenConditions, type OpenConditions } from '../../alerts/alert-repository.js'
import { type CandidatePage, candidateUsers, type DueWithTime, type TimeWindow } from '../../candidates.js'
import type { WeatherSnapshot } from './rule.js'

/** Trips the weather monitor looks at: planned and not past, or with a window alert still open. */
export async function loadWeatherSnapshots(
  db: Db,
  userIds: readonly string[],
  today: string,
  open?: OpenConditions,
): Promise<Map<string, WeatherSnapshot>> {
  const snapshots = new Map<string, WeatherSnapshot>(userIds.map((id) => [id, { trips: [], openConditions: [] }]))
  if (userIds.length === 0) return snapshots
  const openRows = await addOpenConditions(db, snapshots, 'weather_window', open)
  const openTrips = openRows.map((row) => row.condition.replace(/^weather:/, ''))
  const rows = await db
    .selectFrom('trips')
    .selectAll()
    .where('user_id', 'in', [...userIds])
    .where((eb) =>
      eb.or([
        eb.and([eb('status', '=', 'planned'), eb('depart_until', '>=', today)]),
        ...(openTrips.length > 0 ? [eb('id', 'in', openTrips)] : []),
      ]),
    )
    .execute()
  for (const row of rows) snapshots.get(row.user_id)?.trips.push(trips.toItem(row))
  return snapshots
}

/** A keyset page of users with a current planned trip or an open window alert. */
export const weatherCandidates = (db: Db, page: CandidatePage & { today: string }) =>
  candidateUsers(db, page, 'weather_window', (eb) =>
    eb.exists(
      eb
        .selectFrom('trips as t')
        .select(sql`1`.as('one'))
        .whereRef('t.user_id', '=', 'u.id')
        .where('t.status', '=', 'planned')
        .where('t.depart_until', '>=', page.today),
    ),
  )

/**
 * Forecasts change with time alone: every traveller with a planned trip still ahead is looked at
 * again, and those whose departure window closed in the window (its alert, if open, resolves).
 */
export const weatherDueWithTime = ({ since }: TimeWindow): DueWithTime => sql<{ user_id: string }>`
  select user_id from trips where status = 'planned' and depart_until >= ${since.toISOString().slice(0, 10)}`
