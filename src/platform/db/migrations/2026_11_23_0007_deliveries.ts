import { type Kysely, sql } from 'kysely'

// Frozen in time: imports nothing from the application.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- a browser's Web Push subscription. An endpoint is one browser profile: subscribed again by
    -- another traveller (a shared tablet), it moves to them and stops reaching the first.
    create table push_subscriptions (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      endpoint text not null unique check (char_length(endpoint) <= 2000),
      p256dh text not null check (char_length(p256dh) <= 200),
      auth text not null check (char_length(auth) <= 100),
      created_at timestamptz not null default now()
    );
    create index push_subscriptions_user on push_subscriptions (user_id, created_at);

    -- one digest per traveller, channel, kind and window: two schedulers or a retried job find
    -- the row and never send a second one
    create table digests (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      channel text not null check (channel in ('email', 'push')),
      kind text not null check (kind in ('quiet', 'daily')),
      -- when the window ended (quiet) or the daily time came: the same for every scheduler
      window_at timestamptz not null,
      status text not null check (status in ('sending', 'sent', 'failed', 'empty')),
      alert_count integer not null default 0,
      attempts integer not null default 0,
      error text,
      -- the job sending it: a second scheduler's job leaves it alone, its own retry resumes it
      claimed_by text not null,
      claimed_at timestamptz not null default now(),
      created_at timestamptz not null default now(),
      sent_at timestamptz,
      unique (user_id, channel, kind, window_at)
    );

    -- what happened to an alert on each channel: at most one row, claimed before anything is sent
    create table deliveries (
      id uuid primary key default gen_random_uuid(),
      alert_id uuid not null references alerts (id) on delete cascade,
      user_id uuid not null references users (id) on delete cascade,
      channel text not null check (channel in ('email', 'push')),
      status text not null check (status in ('queued', 'sending', 'sent', 'deferred', 'suppressed', 'failed')),
      reason text,
      attempts integer not null default 0,
      error text,
      -- deferred: the end of the quiet hours it waits for
      defer_until timestamptz,
      digest_id uuid references digests (id) on delete set null,
      -- the job sending it: its own retry (after its worker died) may take it back
      claimed_by text,
      sent_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (alert_id, channel)
    );
    create index deliveries_deferred on deliveries (defer_until, user_id) where status = 'deferred';
    create index deliveries_pending on deliveries (updated_at) where status in ('queued', 'sending');
    create index deliveries_failed on deliveries (updated_at desc) where status = 'failed';
    create index deliveries_digest on deliveries (digest_id) where digest_id is not null;
    -- the delivery drainer looks for recent alerts without a delivery
    create index alerts_created on alerts (created_at);

    -- one-click unsubscribe links already used: each works once
    create table unsubscribe_uses (
      link_id text primary key,
      user_id uuid not null references users (id) on delete cascade,
      used_at timestamptz not null default now()
    );
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop table unsubscribe_uses;
    drop index alerts_created;
    drop table deliveries;
    drop table digests;
    drop table push_subscriptions;
  `.execute(db)
}
