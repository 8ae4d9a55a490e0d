import { type Kysely, sql } from 'kysely'

// Frozen in time: imports nothing from the application. A delivery's traveller is its alert's,
// copied when the delivery is made: the alert's own foreign key keeps that traveller, and its
// cascade removes the deliveries with it. A second check of the same traveller on every delivery
// row made was a third of inserting it (a full sweep makes two a new alert).

export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table deliveries drop constraint deliveries_user_id_fkey`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table deliveries add constraint deliveries_user_id_fkey
            foreign key (user_id) references users (id) on delete cascade`.execute(db)
}
