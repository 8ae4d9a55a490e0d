import { randomBytes } from 'node:crypto'
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
