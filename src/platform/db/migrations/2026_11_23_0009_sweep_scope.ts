import { type Kysely, sql } from 'kysely'

// Frozen in time: imports nothing from the application.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- what a sweep visited: every candidate ('full': the first run, or the rules changed) or only
    -- the users marked by writes and those whose condition changed with time alone ('changed');
    -- and the rules it applied (rule versions and thresholds), so a change of rules is noticed
    alter table monitor_runs
      add column scope text not null default 'full' check (scope in ('full', 'changed')),
      add column rules text,
      -- unknown (null) while the sweep is still queueing pages: it queues each as it finds it,
      -- holding one page of users at a time whatever the total
      alter column pages_total drop not null,
      alter column pages_total drop default;

    -- an expense dated ahead of when it was written (next month's ferry) counts when its budget
    -- period begins, with no write then: the few such rows a sweep must find without a scan
    create index expenses_dated_ahead on expenses (spent_at) where spent_at > created_at;
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop index expenses_dated_ahead;
    update monitor_runs set pages_total = 0 where pages_total is null;
    alter table monitor_runs
      alter column pages_total set default 0,
      alter column pages_total set not null,
      drop column rules,
      drop column scope;
  `.execute(db)
}
