import { type Kysely, sql } from 'kysely'

// Frozen in time: imports nothing from the application. The rows below are the registry's
// `inputs` as they were when this was written; from here on, each start writes the registry's
// own (src/monitoring/monitor-inputs.ts), so a new monitor needs no migration.
const INPUTS: Record<string, string[]> = {
  vehicles: ['fuel', 'maintenance'],
  fuel_readings: ['fuel'],
  budgets: ['budget'],
  expenses: ['budget'],
  trips: ['weather'],
  maintenance_items: ['maintenance'],
  context_signals: ['context'],
}

const EVENTS = [
  { event: 'insert', referencing: 'new table as new_rows' },
  { event: 'update', referencing: 'old table as old_rows new table as new_rows' },
  { event: 'delete', referencing: 'old table as old_rows' },
]

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- An alert's kind is whatever a registered monitor opens: the registry checks it, the database
    -- only its shape, so adding a monitor is not a schema change.
    -- NOT VALID: no scan of the table under its lock; the rows there passed the stricter check.
    alter table alerts drop constraint alerts_kind_check;
    alter table alerts add constraint alerts_kind_check check (kind ~ '^[a-z][a-z0-9_]{0,49}$') not valid;

    -- Which monitors read which table: the marking triggers look here instead of at their own
    -- arguments, and PAM writes the registry's inputs here when it starts.
    create table monitor_inputs (
      input_table text not null,
      monitor text not null check (monitor ~ '^[a-z][a-z0-9_]{0,49}$'),
      primary key (input_table, monitor)
    );
  `.execute(db)
  for (const [table, monitors] of Object.entries(INPUTS)) {
    for (const monitor of monitors) {
      await sql`insert into monitor_inputs (input_table, monitor) values (${table}, ${monitor})`.execute(db)
    }
  }
  await sql`
    create or replace function mark_for_evaluation() returns trigger language plpgsql as $$
    declare
      readers text[];
    begin
      select array_agg(monitor order by monitor) into readers from monitor_inputs where input_table = tg_table_name;
      if readers is null then
        return null;
      end if;
      -- Rows locked in one order (monitor, user), so two writers marking the same users cannot deadlock.
      if tg_op = 'INSERT' then
        insert into evaluation_marks (user_id, monitor, version)
        select w.user_id, m.monitor, nextval('evaluation_mark_versions')
        from (select distinct user_id from new_rows) w cross join unnest(readers) as m(monitor)
        where exists (select 1 from users u where u.id = w.user_id)
        order by m.monitor, w.user_id
        on conflict (monitor, user_id) do update set version = excluded.version;
      elsif tg_op = 'UPDATE' then
        insert into evaluation_marks (user_id, monitor, version)
        select w.user_id, m.monitor, nextval('evaluation_mark_versions')
        from (select user_id from new_rows union select user_id from old_rows) w
          cross join unnest(readers) as m(monitor)
        where exists (select 1 from users u where u.id = w.user_id)
        order by m.monitor, w.user_id
        on conflict (monitor, user_id) do update set version = excluded.version;
      else
        insert into evaluation_marks (user_id, monitor, version)
        select w.user_id, m.monitor, nextval('evaluation_mark_versions')
        from (select distinct user_id from old_rows) w cross join unnest(readers) as m(monitor)
        where exists (select 1 from users u where u.id = w.user_id)
        order by m.monitor, w.user_id
        on conflict (monitor, user_id) do update set version = excluded.version;
      end if;
      return null;
    end
    $$;
  `.execute(db)
  // The same triggers without their monitor arguments: what they mark is in monitor_inputs now.
  for (const table of Object.keys(INPUTS)) {
    for (const { event, referencing } of EVENTS) {
      await sql`drop trigger ${sql.id(`${table}_mark_${event}`)} on ${sql.table(table)}`.execute(db)
      await sql`
        create trigger ${sql.id(`${table}_mark_${event}`)} after ${sql.raw(event)} on ${sql.table(table)}
        referencing ${sql.raw(referencing)}
        for each statement execute function mark_for_evaluation()`.execute(db)
    }
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace function mark_for_evaluation() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        insert into evaluation_marks (user_id, monitor, version)
        select w.user_id, m.monitor, nextval('evaluation_mark_versions')
        from (select distinct user_id from new_rows) w cross join unnest(tg_argv) as m(monitor)
        where exists (select 1 from users u where u.id = w.user_id)
        order by m.monitor, w.user_id
        on conflict (monitor, user_id) do update set version = excluded.version;
      elsif tg_op = 'UPDATE' then
        insert into evaluation_marks (user_id, monitor, version)
        select w.user_id, m.monitor, nextval('evaluation_mark_versions')
        from (select user_id from new_rows union select user_id from old_rows) w
          cross join unnest(tg_argv) as m(monitor)
        where exists (select 1 from users u where u.id = w.user_id)
        order by m.monitor, w.user_id
        on conflict (monitor, user_id) do update set version = excluded.version;
      else
        insert into evaluation_marks (user_id, monitor, version)
        select w.user_id, m.monitor, nextval('evaluation_mark_versions')
        from (select distinct user_id from old_rows) w cross join unnest(tg_argv) as m(monitor)
        where exists (select 1 from users u where u.id = w.user_id)
        order by m.monitor, w.user_id
        on conflict (monitor, user_id) do update set version = excluded.version;
      end if;
      return null;
    end
    $$;
  `.execute(db)
  for (const [table, monitors] of Object.entries(INPUTS)) {
    const args = sql.join(monitors.map((monitor) => sql.lit(monitor)))
    for (const { event, referencing } of EVENTS) {
      await sql`drop trigger ${sql.id(`${table}_mark_${event}`)} on ${sql.table(table)}`.execute(db)
      await sql`
        create trigger ${sql.id(`${table}_mark_${event}`)} after ${sql.raw(event)} on ${sql.table(table)}
        referencing ${sql.raw(referencing)}
        for each statement execute function mark_for_evaluation(${args})`.execute(db)
    }
  }
  await sql`
    drop table monitor_inputs;
    alter table alerts drop constraint alerts_kind_check;
    alter table alerts add constraint alerts_kind_check
      check (kind in ('fuel_low', 'budget_threshold', 'weather_window', 'maintenance_due', 'context_suggestion'));
  `.execute(db)
}
