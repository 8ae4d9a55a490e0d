import { sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import { comparisonInstants, readAlike } from './time-zones.js'

export interface TimeZoneCatalog {
  /** The zone as stored (PostgreSQL's spelling), or undefined: not a zone every reader agrees on. */
  canonical(name: string): Promise<string | undefined>
}

/**
 * The zones a traveller may set: in the time_zones table (the names PostgreSQL reads as names,
 * kept from pg_timezone_names, which takes a tenth of a second to list), spelled in any case, and
 * read the same by this process's luxon and Intl, winter and summer. One zone is checked per
 * request: a read of that table (some 600 rows) and one Intl formatter, a millisecond or two.
 */
export function timeZoneCatalog(db: Db, now: () => Date = () => new Date()): TimeZoneCatalog {
  return {
    async canonical(name) {
      const instants = comparisonInstants(now())
      const { rows } = await sql<{ name: string; winter: string; summer: string }>`
        select name,
               to_char(${instants[0]}::timestamptz at time zone name, 'YYYY-MM-DD HH24:MI') as winter,
               to_char(${instants[1]}::timestamptz at time zone name, 'YYYY-MM-DD HH24:MI') as summer
        from time_zones where lower(name) = lower(${name})
        order by name`.execute(db)
      const found = rows.find((row) => readAlike({ name: row.name, clocks: [row.winter, row.summer] }, instants))
      return found?.name
    },
  }
}

/**
 * Makes time_zones match the names the server's time zone data has now (an upgraded PostgreSQL
 * may add some); returns how many were added and removed.
 */
export async function refreshTimeZones(db: Db): Promise<{ added: number; removed: number }> {
  const { rows } = await sql<{ added: string; removed: string }>`
    with current as (
      select name from pg_timezone_names
      where name !~ '^(posix|right)/' and name not in ('Factory', 'localtime', 'posixrules')
    ),
    added as (insert into time_zones (name) select name from current on conflict do nothing returning 1),
    removed as (
      delete from time_zones t where not exists (select 1 from current c where c.name = t.name) returning 1
    )
    select (select count(*) from added) as added, (select count(*) from removed) as removed`.execute(db)
  return { added: Number(rows[0]?.added ?? 0), removed: Number(rows[0]?.removed ?? 0) }
}

/** Travellers whose stored zone PostgreSQL cannot read as a name (written past the API's check). */
export async function countUnreadableZones(db: Db): Promise<number> {
  const { rows } = await sql<{ count: string }>`
    select count(*) as count from users u
    where not exists (select 1 from time_zones z where z.name = u.timezone)`.execute(db)
  return Number(rows[0]?.count ?? 0)
}
