import { randomBytes } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import pg from 'pg'

/** Runs `run` on a fresh database created beside `adminUrl`'s, dropped afterwards. */
export async function withBenchDatabase<T>(adminUrl: string, run: (url: string) => Promise<T>): Promise<T> {
  const name = `pam_bench_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`create database ${name}`)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  try {
    return await run(url.toString())
  } finally {
    await admin.query(`drop database ${name} with (force)`)
    await admin.end()
  }
}

/**
 * Ends a bench's SQL seed: the seed stands for data PAM evaluated long ago, so the evaluation marks
 * its inserts left (the monitored tables' triggers mark every writer's rows) are dropped, and the
 * planner's statistics are brought up to date (`vacuum` too where asked).
 */
// biome-ignore lint/suspicious/noExplicitAny: benches seed through their own Kysely instances
export async function settleSeed(db: Kysely<any>, options: { vacuum?: boolean } = {}): Promise<void> {
  await sql`truncate evaluation_marks`.execute(db)
  await sql.raw(options.vacuum ? 'vacuum analyze' : 'analyze').execute(db)
}
