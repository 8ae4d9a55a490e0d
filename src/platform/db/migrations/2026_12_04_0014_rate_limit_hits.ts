import { type Kysely, sql } from 'kysely'

// Frozen in time: imports nothing from the application.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- Postgres-only mode: hits per key (a limit and a client address) in a fixed window, shared
    -- by every API replica (sign-in and sign-out throttles, failed tokens). Housekeeping deletes
    -- windows that ended.
    create table rate_limit_hits (
      key text primary key check (char_length(key) <= 200),
      hits integer not null,
      resets_at timestamptz not null
    );
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table rate_limit_hits`.execute(db)
}
