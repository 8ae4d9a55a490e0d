import { type Kysely, sql } from 'kysely'

// Frozen in time: imports nothing from the application.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- a traveller's "not now" (the alert leaves the open list and no channel delivers its
    -- condition until then) and their verdict on an alert, which the thresholds learn from
    alter table alerts
      add column snoozed_until timestamptz,
      add column feedback text check (feedback in ('useful', 'not_useful')),
      add column feedback_at timestamptz;
    -- the snoozes that end: what the delivery drainer wakes every few seconds
    create index alerts_snoozed on alerts (snoozed_until) where snoozed_until is not null and resolved_at is null;
    -- a new alert looks for a snooze of its condition: for the many travellers with none, one
    -- probe of an index that holds only snoozed alerts
    create index alerts_snoozed_by_user on alerts (user_id) where snoozed_until is not null;
    -- a traveller's verdicts on one kind of alert: counted per monitor, and by the learning
    create index alerts_feedback on alerts (user_id, kind, feedback_at) where feedback is not null;

    -- a traveller's own or learned value of a monitor's tunable threshold. 'default' records that
    -- the traveller went back to the monitor's default (value null) at changed_at: feedback given
    -- before that is not learned from again. No row: the default.
    create table traveller_thresholds (
      user_id uuid not null references users (id) on delete cascade,
      monitor text not null,
      name text not null,
      value numeric,
      source text not null check (source in ('own', 'learned', 'default')),
      reason text,
      changed_at timestamptz not null default now(),
      primary key (user_id, monitor, name),
      check ((source = 'default') = (value is null))
    );
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop table traveller_thresholds;
    drop index alerts_feedback;
    drop index alerts_snoozed_by_user;
    drop index alerts_snoozed;
    alter table alerts drop column feedback_at, drop column feedback, drop column snoozed_until;
  `.execute(db)
}
