import pg from 'pg'

/** Runs statements on the test server's maintenance connection (not the database under test). */
export async function admin(...statements: string[]) {
  const connection = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL })
  connection.on('error', () => undefined)
  await connection.connect()
  try {
    for (const statement of statements) await connection.query(statement)
  } finally {
    await connection.end()
  }
}

/**
 * The statement that ends every session of `database` but the caller's and those `spared` (57P01,
 * as a restart does).
 */
export const cutOffSessions = (database: string, spared: readonly number[] = []) =>
  `select pg_terminate_backend(pid) from pg_stat_activity where datname = '${database}' and pid <> pg_backend_pid()
   and pid <> all('{${spared.join(',')}}'::int[])`

export interface DatabaseOutage {
  /** Lets sessions in again. */
  restore(): Promise<void>
}

/**
 * Takes one test's database away as a PostgreSQL restart does, without touching the server or
 * other tests' databases: every session ends (but the `spared`, a test's own lock holder, say),
 * and new ones are refused (55000) until `restore`.
 */
export async function databaseOutage(databaseUrl: string, spared: readonly number[] = []): Promise<DatabaseOutage> {
  const name = new URL(databaseUrl).pathname.slice(1)
  await admin(`alter database "${name}" allow_connections false`, cutOffSessions(name, spared))
  return { restore: () => admin(`alter database "${name}" allow_connections true`) }
}
