import { type Kysely, sql } from 'kysely'

// Frozen in time: imports nothing from the application.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- what a sweep visited: every candidate ('full': the first run, or the rules changed) or only
    -- the users marked by writes and those whose condition changed with time alone ('changed');
    -- and the rules it applied (rule versions and thresholds), so a change of rules is noticed
    alter table monitor_runs
      add column scope text not null default 'full' check (scope in ('full', 'changed')),
      add column rules text;

    -- an expense dated ahead of when it was written (next month's ferry) counts when its budget
    -- period begins, with no write then: the few such rows a sweep must find without a scan
    create index expenses_dated_ahead on expenses (spent_at) where spent_at > created_at;
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop index expenses_dated_ahead;
    alter table monitor_runs drop column rules, drop column scope;
  `.execute(db)
}
