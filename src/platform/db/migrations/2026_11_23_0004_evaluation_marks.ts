import { type Kysely, sql } from 'kysely'

// Frozen in time: imports nothing from the application.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- "this user needs evaluating by this monitor", written in the same transaction as the write
    -- that calls for it. An evaluation removes the mark only if its version is still the one it
    -- read before loading the user's data, so a write during an evaluation is never lost: a lost
    -- job, a deduplication race or a queue outage delays an evaluation but cannot drop it.
    create sequence evaluation_mark_versions;
    create table evaluation_marks (
      user_id uuid not null references users (id) on delete cascade,
      monitor text not null,
      version bigint not null,
      -- the oldest write not yet evaluated: what the drainer's grace period is measured from
      marked_at timestamptz not null default now(),
      primary key (monitor, user_id)
    );
    create index evaluation_marks_waiting on evaluation_marks (monitor, marked_at);

    -- how many evaluations of a user by a monitor were applied: an evaluation applies only if
    -- the count is still the one it read before loading its data, so one that read older data
    -- and arrives after a newer one (two workers, the drainer beside a job) cannot undo it
    create table evaluation_fences (
      user_id uuid not null references users (id) on delete cascade,
      monitor text not null,
      applies bigint not null,
      primary key (monitor, user_id)
    );

    -- the pages of a sweep already counted: a retried page adds its counts once
    create table monitor_run_pages (
      run_id uuid not null references monitor_runs (id) on delete cascade,
      page integer not null,
      primary key (run_id, page)
    );

    -- the job holding an exclusive task: a re-run of that same job (after its worker died) takes
    -- its lease back instead of waiting for it to expire
    alter table task_leases add column job_id text not null default '';
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    alter table task_leases drop column job_id;
    drop table monitor_run_pages;
    drop table evaluation_fences;
    drop table evaluation_marks;
    drop sequence evaluation_mark_versions;
  `.execute(db)
}
