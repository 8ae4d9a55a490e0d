import type { Db } from '../../platform/db/database.js'

export interface User {
  id: string
  timezone: string
  home: { lat: number; lon: number } | null
  preferences: Record<string, unknown>
  createdAt: string
}

export interface UserChanges {
  timezone?: string
  home?: { lat: number; lon: number } | null
  preferences?: Record<string, unknown>
}

/** The user row exists from the first authenticated request on; its id is the token's `sub`. */
export async function ensureUser(db: Db, id: string): Promise<void> {
  await db
    .insertInto('users')
    .values({ id })
    .onConflict((conflict) => conflict.column('id').doNothing())
    .execute()
}

export async function getUser(db: Db, id: string): Promise<User | undefined> {
  const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
  return (
    row && {
      id: row.id,
      timezone: row.timezone,
      home: row.home_lat === null || row.home_lon === null ? null : { lat: row.home_lat, lon: row.home_lon },
      preferences: row.preferences,
      createdAt: row.created_at.toISOString(),
    }
  )
}

export async function updateUser(db: Db, id: string, changes: UserChanges): Promise<User | undefined> {
  const values = {
    ...(changes.timezone !== undefined ? { timezone: changes.timezone } : {}),
    ...(changes.home !== undefined ? { home_lat: changes.home?.lat ?? null, home_lon: changes.home?.lon ?? null } : {}),
    ...(changes.preferences !== undefined ? { preferences: JSON.stringify(changes.preferences) } : {}),
  }
  if (Object.keys(values).length > 0) {
    await db
      .updateTable('users')
      .set({ ...values, updated_at: new Date() })
      .where('id', '=', id)
      .execute()
  }
  return getUser(db, id)
}
