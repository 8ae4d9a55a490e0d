import { sql } from 'kysely'
import type { Db } from '../platform/db/database.js'
import { monitors } from './registry.js'

/**
 * Writes the registry's `inputs` into `monitor_inputs`, where the tables' marking triggers look up
 * whom a write concerns: a registered monitor is marked by writes without a migration. Every start
 * only adds (during a rolling deploy an older process must not take back what a newer one added);
 * `prune`, for `pam migrate up`, also removes what no registered monitor reads any more, a removed
 * monitor's rows included. Idempotent, one statement.
 */
export async function syncMonitorInputs(db: Db, { prune = false } = {}): Promise<void> {
  const pairs = monitors().flatMap((monitor) => monitor.inputs.map((table) => ({ table, monitor: monitor.name })))
  await sql`
    with wanted (input_table, monitor) as (
      select * from unnest(${pairs.map((pair) => pair.table)}::text[], ${pairs.map((pair) => pair.monitor)}::text[])
    ),
    dropped as (
      delete from monitor_inputs m
      where ${prune}
        and not exists (select 1 from wanted w where w.input_table = m.input_table and w.monitor = m.monitor)
    )
    insert into monitor_inputs (input_table, monitor) select input_table, monitor from wanted
    on conflict do nothing`.execute(db)
}
