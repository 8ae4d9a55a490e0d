import { type Kysely, sql } from 'kysely'

// Frozen in time: imports nothing from the application.
//
// The fuel monitor reads the traveller's active trip (its range against the distance left to the
// destination), so a write to trips marks fuel too, as the registry's `inputs` now say. And an
// evaluation's fence remembers when it was applied: GET /v1/monitors/:kind/state tells a traveller
// when their data was last looked at.

const EVENTS = [
  { event: 'insert', referencing: 'new table as new_rows' },
  { event: 'update', referencing: 'old table as old_rows new table as new_rows' },
  { event: 'delete', referencing: 'old table as old_rows' },
]

async function markTrips(db: Kysely<any>, monitors: string[]) {
  const args = sql.join(monitors.map((monitor) => sql.lit(monitor)))
  for (const { event, referencing } of EVENTS) {
    const name = sql.id(`trips_mark_${event}`)
    await sql`drop trigger ${name} on trips`.execute(db)
    await sql`
      create trigger ${name} after ${sql.raw(event)} on trips
      referencing ${sql.raw(referencing)}
      for each statement execute function mark_for_evaluation(${args})`.execute(db)
  }
}

export async function up(db: Kysely<any>): Promise<void> {
  await markTrips(db, ['weather', 'fuel'])
  // Null for a fence applied before this column existed: its time is not known.
  await sql`alter table evaluation_fences add column evaluated_at timestamptz`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table evaluation_fences drop column evaluated_at`.execute(db)
  await markTrips(db, ['weather'])
}
