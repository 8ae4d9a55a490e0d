import { type Kysely, sql } from 'kysely'

// Frozen in time: imports nothing from the application.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- an address receives alert emails only once its owner followed the link sent to it; a new
    -- address starts unconfirmed. Addresses saved before this are unconfirmed too: no one proved them.
    alter table notification_settings add column email_verified_at timestamptz;

    -- every email PAM sent a traveller's address (alerts, digests, confirmations), for the hourly
    -- and daily caps per traveller and per address. The address is kept as a digest; housekeeping
    -- deletes rows older than a day.
    create table email_sends (
      id bigint generated always as identity primary key,
      user_id uuid not null references users (id) on delete cascade,
      address_digest text not null check (char_length(address_digest) = 64),
      kind text not null check (kind in ('alert', 'digest', 'confirmation')),
      sent_at timestamptz not null
    );
    create index email_sends_by_user on email_sends (user_id, sent_at);
    create index email_sends_by_address on email_sends (address_digest, sent_at);
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop table email_sends;
    alter table notification_settings drop column email_verified_at;
  `.execute(db)
}
