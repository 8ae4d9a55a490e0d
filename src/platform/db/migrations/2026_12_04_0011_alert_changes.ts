import { type Kysely, sql } from 'kysely'

// Frozen in time: imports nothing from the application.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    -- Every change of an alert (made, rewritten, read, dismissed, resolved, expired) gets a
    -- version, from one sequence for all alerts, and the database's time it was made. The live
    -- stream is told of changes on the bus, at most once; what it may have missed (a bus outage,
    -- a process that died before publishing) it reads back from here: ?since= replays the
    -- changes after a time, and each API process catches up its sockets the same way. Events
    -- carry both, so the hub and clients drop a change they already have (a later change of one
    -- alert always has a higher version: its row lock orders them).
    create sequence alert_versions;
    alter table alerts add column version bigint, add column changed_at timestamptz;
    update alerts set version = nextval('alert_versions'),
                      changed_at = greatest(created_at, read_at, dismissed_at, resolved_at);
    alter table alerts
      alter column version set default nextval('alert_versions'),
      alter column version set not null,
      -- the time of the change itself, not of its transaction's start: closest to when it commits
      alter column changed_at set default clock_timestamp(),
      alter column changed_at set not null;

    -- set in the changing statement, whoever changes the row; an update that changes nothing is no change
    create function alert_changed() returns trigger language plpgsql as $$
    begin
      new.version := nextval('alert_versions');
      new.changed_at := clock_timestamp();
      return new;
    end
    $$;
    create trigger alerts_changed before update on alerts
      for each row when (old.* is distinct from new.*) execute function alert_changed();

    -- a traveller's changes after a time: the replay and the hub's catch-up
    create index alerts_user_changes on alerts (user_id, changed_at);
  `.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    drop index alerts_user_changes;
    drop trigger alerts_changed on alerts;
    drop function alert_changed();
    alter table alerts drop column changed_at, drop column version;
    drop sequence alert_versions;
  `.execute(db)
}
