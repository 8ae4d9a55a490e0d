import { type Kysely, sql } from 'kysely'

// Frozen in time: imports nothing from the application.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- which request holds a key while it runs: a new one each time the key is claimed or taken
    -- over. A write's transaction stores its response only while its request's claim stands, so
    -- a claim can be taken over early (its request failed and could not give the key back, the
    -- database being away; its process died) without the write ever happening twice.
    alter table idempotency_keys add column claim uuid;
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table idempotency_keys drop column claim`.execute(db)
}
