import { type Kysely, sql } from 'kysely'

// Frozen in time: imports nothing from the application.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- who wrote an alert's title and body: 'template', or the model that rewrote them
    alter table alerts add column text_source text not null default 'template';

    -- money spent (reserved or settled) per UTC day, for the deployment ('deployment') and each
    -- user ('user:<id>'): a call reserves its worst case here under row locks before it is made,
    -- so concurrent workers can never overshoot a cap; settling replaces it with the real cost
    create table ai_budget_days (
      scope text not null,
      day date not null,
      spent_usd numeric(14, 8) not null default 0 check (spent_usd >= 0),
      primary key (scope, day)
    );

    -- the ledger: every call made (and every call a budget refused), with its tokens and cost
    create table ai_calls (
      id uuid primary key default gen_random_uuid(),
      user_id uuid references users (id) on delete set null,
      purpose text not null,
      provider text not null,
      model text not null,
      day date not null,
      outcome text not null,
      error_code text,
      reserved_usd numeric(14, 8) not null default 0,
      cost_usd numeric(14, 8) not null default 0,
      input_tokens integer not null default 0,
      output_tokens integer not null default 0,
      cache_write_tokens integer not null default 0,
      cache_read_tokens integer not null default 0,
      latency_ms integer,
      created_at timestamptz not null default now(),
      settled_at timestamptz
    );
    create index ai_calls_day on ai_calls (day);
    create index ai_calls_user on ai_calls (user_id, day);

    -- a provider switched off for the rest of a UTC day (spent limit, refused key): one row, so
    -- every worker skips it and the operator is told once
    create table ai_provider_blocks (
      provider text not null,
      day date not null,
      reason text not null,
      created_at timestamptz not null default now(),
      primary key (provider, day)
    );

    -- a traveller's analyses: one daily per local date, plus the ones asked for
    create table briefings (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      kind text not null check (kind in ('daily', 'requested')),
      period date not null,
      status text not null default 'pending' check (status in ('pending', 'ready')),
      text_source text not null default 'template',
      summary text,
      sections jsonb,
      cost_usd numeric(14, 8),
      template_reason text,
      created_at timestamptz not null default now(),
      ready_at timestamptz
    );
    create unique index briefings_daily on briefings (user_id, period) where kind = 'daily';
    create index briefings_user on briefings (user_id, created_at desc, id desc);
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop table briefings;
    drop table ai_provider_blocks;
    drop table ai_calls;
    drop table ai_budget_days;
    alter table alerts drop column text_source;
  `.execute(db)
}
