import { type Kysely, sql } from 'kysely'

// Frozen in time: imports nothing from the application.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- how a traveller wants to be reached. No row means the defaults (push from medium, email from
    -- high, no quiet hours, no daily digest, AI on): a row is written only when they change them.
    create table notification_settings (
      user_id uuid primary key references users (id) on delete cascade,
      email_address text check (char_length(email_address) <= 254),
      email_enabled boolean not null default true,
      email_min_priority text not null default 'high'
        check (email_min_priority in ('low', 'medium', 'high', 'urgent')),
      push_enabled boolean not null default true,
      push_min_priority text not null default 'medium'
        check (push_min_priority in ('low', 'medium', 'high', 'urgent')),
      -- local wall-clock times 'HH:MM' in the traveller's timezone; both or neither
      quiet_start text check (quiet_start ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
      quiet_end text check (quiet_end ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
      digest_enabled boolean not null default false,
      digest_at text not null default '08:00' check (digest_at ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
      ai_enabled boolean not null default true,
      updated_at timestamptz not null default now(),
      check ((quiet_start is null) = (quiet_end is null))
    );
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table notification_settings`.execute(db)
}
