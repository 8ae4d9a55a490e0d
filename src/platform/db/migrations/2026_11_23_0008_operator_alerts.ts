import { type Kysely, sql } from 'kysely'

// Frozen in time: imports nothing from the application.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- each operator condition PAM has told an operator about: raised once, then resolved once,
    -- whichever process checks (only the one holding the check's lock writes here)
    create table operator_alerts (
      condition text primary key,
      kind text not null,
      status text not null check (status in ('firing', 'resolved')),
      summary text not null,
      raised_at timestamptz not null,
      resolved_at timestamptz,
      -- when a "raised" message last went out: a condition that clears and comes back within the
      -- cooldown is not announced again
      notified_at timestamptz
    );

    -- when each schedule last ran (its job started): a schedule with no run within twice its
    -- cadence raises an operator alert
    create table schedule_runs (
      schedule text primary key,
      last_run_at timestamptz not null
    );

    -- provider lookups per minute, by outcome, from every worker: the failure rate is the
    -- deployment's, not one process's
    create table provider_outcomes (
      provider text not null,
      minute timestamptz not null,
      succeeded integer not null default 0,
      failed integer not null default 0,
      primary key (provider, minute)
    );
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop table provider_outcomes;
    drop table schedule_runs;
    drop table operator_alerts;
  `.execute(db)
}
