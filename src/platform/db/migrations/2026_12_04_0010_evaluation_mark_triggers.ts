import { type Kysely, sql } from 'kysely'

// Frozen in time: imports nothing from the application. The tables and monitors below are the
// registry's `inputs` as they were when this was written (src/monitoring/registry.ts); a test
// compares the triggers in the database with the registry, so a change there needs a migration.
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
    -- "these users need evaluating by these monitors" (the trigger's arguments), written by the
    -- statement that changed their rows, whoever ran it: the API, a data loader, an operator's
    -- correction, an app writing through Supabase, a restore. Once per statement, however many
    -- rows it wrote (a bulk load is one insert of its distinct users). A row that moved to
    -- another user marks both; a user being deleted has nothing left to evaluate.
    create function mark_for_evaluation() returns trigger language plpgsql as $$
    begin
      -- Rows locked in one order (monitor, user), so two writers marking the same users cannot deadlock.
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
      // One trigger per event: a transition table is declared for the events that have it.
      await sql`
        create trigger ${sql.id(`${table}_mark_${event}`)} after ${sql.raw(event)} on ${sql.table(table)}
        referencing ${sql.raw(referencing)}
        for each statement execute function mark_for_evaluation(${args})`.execute(db)
    }
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of Object.keys(INPUTS)) {
    for (const { event } of EVENTS) {
      await sql`drop trigger ${sql.id(`${table}_mark_${event}`)} on ${sql.table(table)}`.execute(db)
    }
  }
  await sql`drop function mark_for_evaluation()`.execute(db)
}
