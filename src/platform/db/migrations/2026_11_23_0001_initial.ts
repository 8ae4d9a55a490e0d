import { type Kysely, sql } from 'kysely'

// Frozen in time: this file imports nothing from the application and is never edited after
// release; later changes are new migrations.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table users (
      id uuid primary key,
      timezone text not null default 'UTC',
      home_lat double precision check (home_lat between -90 and 90),
      home_lon double precision check (home_lon between -180 and 180),
      preferences jsonb not null default '{}'::jsonb check (jsonb_typeof(preferences) = 'object'),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check ((home_lat is null) = (home_lon is null))
    );

    create table vehicles (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      name text not null check (length(name) between 1 and 200),
      fuel_capacity_l numeric(8, 2) not null check (fuel_capacity_l > 0),
      consumption_l_per_100km numeric(6, 2) not null check (consumption_l_per_100km > 0),
      odometer_km numeric(10, 1) not null default 0 check (odometer_km >= 0),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (id, user_id)
    );
    create index vehicles_user_list on vehicles (user_id, created_at desc, id desc);

    create table fuel_readings (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null,
      vehicle_id uuid not null,
      percent numeric(5, 2) not null check (percent between 0 and 100),
      lat double precision check (lat between -90 and 90),
      lon double precision check (lon between -180 and 180),
      observed_at timestamptz not null default now(),
      created_at timestamptz not null default now(),
      check ((lat is null) = (lon is null)),
      -- the composite key makes a reading of another user's vehicle impossible, not just unlikely
      foreign key (vehicle_id, user_id) references vehicles (id, user_id) on delete cascade
    );
    -- latest reading per vehicle: the fuel sweep and the per-vehicle list
    create index fuel_readings_vehicle_latest on fuel_readings (vehicle_id, observed_at desc, id desc);
    create index fuel_readings_user_list on fuel_readings (user_id, observed_at desc, id desc);

    create table budgets (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      category text check (length(category) between 1 and 100),
      amount numeric(12, 2) not null check (amount >= 0),
      currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
      period text not null check (period in ('week', 'month')),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index budgets_user_list on budgets (user_id, created_at desc, id desc);

    create table expenses (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      amount numeric(12, 2) not null check (amount >= 0),
      currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
      category text not null check (length(category) between 1 and 100),
      spent_at timestamptz not null,
      note text check (length(note) <= 2000),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    -- spend in a period (the budget monitor) and the list, newest first
    create index expenses_user_spent on expenses (user_id, spent_at desc, id desc);
    create index expenses_user_category_spent on expenses (user_id, category, spent_at);

    create table trips (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      name text not null check (length(name) between 1 and 200),
      destination_name text not null check (length(destination_name) between 1 and 200),
      destination_lat double precision not null check (destination_lat between -90 and 90),
      destination_lon double precision not null check (destination_lon between -180 and 180),
      depart_from date not null,
      depart_until date not null,
      days integer not null check (days between 1 and 365),
      status text not null default 'planned' check (status in ('planned', 'active', 'done', 'cancelled')),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check (depart_until >= depart_from)
    );
    create index trips_user_list on trips (user_id, created_at desc, id desc);
    -- the weather sweep reads only planned trips whose window has not passed
    create index trips_planned_window on trips (depart_until, user_id) where status = 'planned';

    create table maintenance_items (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null,
      vehicle_id uuid not null,
      name text not null check (length(name) between 1 and 200),
      interval_km numeric(10, 1) check (interval_km > 0),
      interval_days integer check (interval_days > 0),
      last_done_at timestamptz,
      last_done_km numeric(10, 1) check (last_done_km >= 0),
      cost_estimate numeric(12, 2) check (cost_estimate >= 0),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      check (interval_km is not null or interval_days is not null),
      foreign key (vehicle_id, user_id) references vehicles (id, user_id) on delete cascade
    );
    create index maintenance_items_vehicle on maintenance_items (vehicle_id, created_at desc, id desc);
    create index maintenance_items_user_list on maintenance_items (user_id, created_at desc, id desc);

    create table context_signals (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      kind text not null check (length(kind) between 1 and 50),
      value text not null check (length(value) <= 500),
      confidence numeric(4, 3) not null check (confidence between 0 and 1),
      lat double precision check (lat between -90 and 90),
      lon double precision check (lon between -180 and 180),
      observed_at timestamptz not null default now(),
      created_at timestamptz not null default now()
    );
    -- the current context: latest signal per kind
    create index context_signals_user_kind_latest on context_signals (user_id, kind, observed_at desc);

    create table alerts (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      kind text not null check (kind in ('fuel_low', 'budget_threshold', 'weather_window', 'maintenance_due', 'context_suggestion')),
      priority text not null check (priority in ('low', 'medium', 'high', 'urgent')),
      title text not null,
      body text not null,
      data jsonb not null default '{}'::jsonb,
      dedupe_key text not null,
      created_at timestamptz not null default now(),
      expires_at timestamptz,
      read_at timestamptz,
      dismissed_at timestamptz,
      resolved_at timestamptz
    );
    -- one open alert per condition: INSERT ... ON CONFLICT DO NOTHING relies on this
    create unique index alerts_open_dedupe on alerts (user_id, dedupe_key) where resolved_at is null;
    create index alerts_user_list on alerts (user_id, created_at desc, id desc);
    -- housekeeping finds open alerts past their expiry without scanning history
    create index alerts_open_expiry on alerts (expires_at) where resolved_at is null and expires_at is not null;

    create table idempotency_keys (
      user_id uuid not null references users (id) on delete cascade,
      key text not null check (length(key) between 1 and 255),
      request_hash text not null,
      method text not null,
      path text not null,
      status_code integer,
      response_body jsonb,
      created_at timestamptz not null default now(),
      completed_at timestamptz,
      primary key (user_id, key)
    );
    create index idempotency_keys_created on idempotency_keys (created_at);

    create table monitor_runs (
      id uuid primary key default gen_random_uuid(),
      monitor text not null,
      started_at timestamptz not null default now(),
      finished_at timestamptz,
      users_evaluated integer not null default 0 check (users_evaluated >= 0),
      alerts_created integer not null default 0 check (alerts_created >= 0),
      alerts_resolved integer not null default 0 check (alerts_resolved >= 0),
      status text not null check (status in ('running', 'succeeded', 'degraded', 'failed')),
      error text
    );
    create index monitor_runs_monitor_started on monitor_runs (monitor, started_at desc);
    create index monitor_runs_started on monitor_runs (started_at);

    create table worker_heartbeats (
      id text primary key,
      role text not null,
      host text not null,
      pid integer not null,
      queues text[] not null,
      concurrency integer not null check (concurrency > 0),
      started_at timestamptz not null,
      last_beat_at timestamptz not null
    );
    create index worker_heartbeats_last_beat on worker_heartbeats (last_beat_at);
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop table worker_heartbeats;
    drop table monitor_runs;
    drop table idempotency_keys;
    drop table alerts;
    drop table context_signals;
    drop table maintenance_items;
    drop table trips;
    drop table expenses;
    drop table budgets;
    drop table fuel_readings;
    drop table vehicles;
    drop table users;
  `.execute(db)
}
