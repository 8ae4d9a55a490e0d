import { type Kysely, sql } from 'kysely'

// Frozen in time: imports nothing from the application.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- one row per exclusive task while a run holds it; a lease past expires_at is free again,
    -- so a worker killed mid-run blocks the next run only until its lease expires
    create table task_leases (
      task text primary key,
      holder text not null,
      acquired_at timestamptz not null default now(),
      expires_at timestamptz not null
    );
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table task_leases`.execute(db)
}
