import { type Kysely, sql } from 'kysely'

// Frozen in time: imports nothing from the application.

/**
 * The zone names this PostgreSQL reads as names (not as POSIX specifications, whose offsets have
 * the opposite sign to ISO 8601's): statements join this table instead of handing a traveller's
 * text to `at time zone`. Housekeeping keeps it in step with the server's time zone data.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table time_zones (name text primary key);
    insert into time_zones (name)
      select name from pg_timezone_names
      where name !~ '^(posix|right)/' and name not in ('Factory', 'localtime', 'posixrules');
  `.execute(db)
  // Travellers whose zone PostgreSQL could not read as a name, written before the API checked it:
  // the same name in another case, a whole-hour ISO offset as its Etc/GMT zone (whose sign is
  // POSIX's, the reverse), anything else UTC.
  await sql`
    update users u set timezone = coalesce(
      (select z.name from time_zones z where lower(z.name) = lower(u.timezone) order by z.name limit 1),
      (select z.name from time_zones z
        where u.timezone ~ '^[+-](0[0-9]|1[0-4])(:?00)?$'
          and z.name = 'Etc/GMT' || case when left(u.timezone, 1) = '+' then '-' else '+' end
                       || ltrim(substr(u.timezone, 2, 2), '0')),
      'UTC')
    where not exists (select 1 from time_zones z where z.name = u.timezone)
  `.execute(db)
}

/** The repaired zones stay repaired: what they were could not be read anyway. */
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table time_zones`.execute(db)
}
