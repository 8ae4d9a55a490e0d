import { sql } from 'kysely'
import type { Db } from '../platform/db/database.js'
import { monitors } from './registry.js'

/**
 * Writes the registry's `inputs` into `monitor_inputs`, where the tables' marking triggers look up
 * whom a write concerns: a registered monitor is marked by writes without a migration. Run by
 * every start and by `pam migrate`; idempotent, one statement. Rows of monitors this process does
 * not know are left alone: during a rolling deploy another version may run them.
 */
export async function syncMonitorInputs(db: Db): Promise<void> {
  const pairs = monitors().flatMap((monitor) => monitor.inputs.map((table) => ({ table, monitor: monitor.name })))
  const names = monitors().map((monitor) => monitor.name)
  await sql`
    with wanted (input_table, monitor) as (
      select * from unnest(${pairs.map((pair) => pair.table)}::text[], ${pairs.map((pair) => pair.monitor)}::text[])
    ),
    dropped as (
      delete from monitor_inputs m
      where m.monitor = any(${names}::text[])
        and not exists (select 1 from wanted w where w.input_table = m.input_table and w.monitor = m.monitor)
    )
    insert into monitor_inputs (input_table, monitor) select input_table, monitor from wanted
    on conflict do nothing`.execute(db)
}
