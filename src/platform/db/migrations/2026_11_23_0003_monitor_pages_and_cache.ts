import { type Kysely, sql } from 'kysely'

// Frozen in time: imports nothing from the application.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- a sweep fans out as page jobs; each adds its counts and the last one closes the run
    alter table monitor_runs
      add column pages_total integer not null default 0 check (pages_total >= 0),
      add column pages_done integer not null default 0 check (pages_done >= 0),
      add column pages_degraded integer not null default 0 check (pages_degraded >= 0);

    -- provider answers in Postgres-only mode (Redis keys with a TTL in Redis mode)
    create table cache_entries (
      key text primary key,
      value jsonb not null,
      expires_at timestamptz not null
    );
    create index cache_entries_expiry on cache_entries (expires_at);

    -- the fuel sweep's candidates: the latest reading per vehicle, found without a sort per vehicle
    create index fuel_readings_user_vehicle_latest on fuel_readings (user_id, vehicle_id, observed_at desc);
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop index fuel_readings_user_vehicle_latest;
    drop table cache_entries;
    alter table monitor_runs drop column pages_total, drop column pages_done, drop column pages_degraded;
  `.execute(db)
}
