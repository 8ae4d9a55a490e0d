import { type Kysely, sql } from 'kysely'

// Frozen in time: imports nothing from the application. An evaluation's fence remembers when it
// was applied: GET /v1/monitors/:kind/state tells a traveller when their data was last looked at.

export async function up(db: Kysely<any>): Promise<void> {
  // Null for a fence applied before this column existed: its time is not known.
  await sql`alter table evaluation_fences add column evaluated_at timestamptz`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table evaluation_fences drop column evaluated_at`.execute(db)
}
