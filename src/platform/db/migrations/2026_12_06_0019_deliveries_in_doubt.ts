import { type Kysely, sql } from 'kysely'

// Frozen in time: imports nothing from the application. A delivery taken over from a worker that
// stopped mid-send remembers it: that worker may have sent it before it could say so, and the row
// tells the traveller (and an operator) so instead of a certainty it does not have.

export async function up(db: Kysely<any>): Promise<void> {
  // A constant default: no table rewrite, only a catalogue change under the lock.
  await sql`alter table deliveries add column in_doubt boolean not null default false`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table deliveries drop column in_doubt`.execute(db)
}
