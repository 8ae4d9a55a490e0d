import { once } from 'node:events'
import { createReadStream, createWriteStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { finished } from 'node:stream/promises'
import { createGunzip, createGzip } from 'node:zlib'
import { Kysely, PostgresDialect } from 'kysely'
import type pg from 'pg'
import { from as copyFrom, to as copyTo } from 'pg-copy-streams'
import { migrations } from '../../platform/db/migrations/index.js'
import { migrateWithin } from '../../platform/db/migrator.js'
import type { Database } from '../../platform/db/schema.js'
import { VERSION } from '../../platform/version.js'

/**
 * PAM's own backup: every table of PAM's schema, copied with PostgreSQL's COPY (text format, the
 * data format pg_dump's plain output uses) over an ordinary connection, gzipped, with a header
 * naming the migrations the data belongs to. It needs no client tools, so it works the same on
 * the embedded server (whose package ships none), in the image and on any managed PostgreSQL, of
 * any major version. BullMQ's schema is not in it: queues hold work in flight, which the
 * schedules, the evaluation marks and the delivery rows (all in PAM's tables) bring back.
 */
const MAGIC = '-- PAM backup '
const TRAILER = '-- PAM backup complete'
const FORMAT_VERSION = 1
// COPY's own end-of-data line; a backslash in data is always escaped, so no data line equals it.
const END_OF_DATA = '\\.'
const FLUSH_BYTES = 64 * 1024

export interface BackupHeader {
  format: 'pam-backup'
  formatVersion: number
  pamVersion: string
  createdAt: string
  /** The migrations applied to the database the data came from, in order. */
  migrations: string[]
  /** In an order that satisfies every foreign key between them (parents first). */
  tables: { name: string; columns: string[] }[]
}

export interface BackupSummary {
  header: BackupHeader
  rows: number
}

const quoteIdentifier = (name: string) => `"${name.replaceAll('"', '""')}"`
const copyStatement = (table: { name: string; columns: string[] }, direction: 'TO STDOUT' | 'FROM stdin') =>
  `COPY public.${quoteIdentifier(table.name)} (${table.columns.map(quoteIdentifier).join(', ')}) ${direction}`

/** Writes a consistent snapshot (one repeatable-read transaction) of PAM's tables to `file`. */
export async function createBackup(client: pg.Client, file: string): Promise<BackupSummary> {
  await client.query("set client_encoding = 'UTF8'")
  await client.query('begin isolation level repeatable read read only')
  try {
    const applied = await appliedMigrations(client)
    if (applied.length === 0) throw new Error('the database has no PAM schema yet (run `npx pam migrate up`)')
    const header: BackupHeader = {
      format: 'pam-backup',
      formatVersion: FORMAT_VERSION,
      pamVersion: VERSION,
      createdAt: new Date().toISOString(),
      migrations: applied,
      tables: await tablesInLoadOrder(client),
    }
    const gzip = createGzip()
    const output = createWriteStream(file, { flags: 'wx' })
    gzip.pipe(output)
    const write = async (chunk: string | Buffer) => {
      if (!gzip.write(chunk)) await once(gzip, 'drain')
    }
    let rows = 0
    await write(`${MAGIC}${JSON.stringify(header)}\n`)
    for (const table of header.tables) {
      await write(`${copyStatement(table, 'FROM stdin')};\n`)
      const data = client.query(copyTo(copyStatement(table, 'TO STDOUT')))
      for await (const chunk of data) await write(chunk as Buffer)
      rows += Number(data.rowCount ?? 0)
      await write(`${END_OF_DATA}\n`)
    }
    await write(`${TRAILER}\n`)
    gzip.end()
    await finished(output)
    await client.query('commit')
    return { header, rows }
  } catch (error) {
    await client.query('rollback').catch(() => undefined)
    throw error
  }
}

/**
 * Replaces PAM's data with the backup's, in one transaction (a failed restore changes nothing):
 * empties PAM's tables, brings the schema to the backup's migrations (down or up), loads the
 * data, then migrates to this version's latest, so a backup of an older PAM restores into a newer.
 */
export async function restoreBackup(client: pg.Client, file: string): Promise<BackupSummary & { migrated: string[] }> {
  const lines = createInterface({
    input: createReadStream(file).pipe(createGunzip()),
    crlfDelay: Number.POSITIVE_INFINITY,
  })
  const iterator = lines[Symbol.asyncIterator]()
  const next = async () => {
    const { value, done } = await iterator.next()
    return done ? undefined : (value as string)
  }
  const db = kyselyOn(client)
  try {
    const header = parseHeader(await next())
    checkMigrations(header.migrations)
    await client.query("set client_encoding = 'UTF8'")
    await client.query('begin')
    return await loadWithin(client, db, header, next)
  } finally {
    lines.close()
    await db.destroy()
  }
}

/** The restore's transaction: on any failure it is rolled back, and the database is as it was. */
async function loadWithin(
  client: pg.Client,
  db: Kysely<Database>,
  header: BackupHeader,
  next: () => Promise<string | undefined>,
): Promise<BackupSummary & { migrated: string[] }> {
  try {
    // Emptied before the schema moves (a down migration meets no data), and again after it (an up
    // migration may seed rows of its own, e.g. the time zones, which the backup holds too).
    await truncateAll(client)
    await migrateWithin(db, header.migrations.at(-1))
    const loaded = await truncateAll(client)
    // The rows come back as they were stored: the triggers that mark writes for evaluation and
    // version alert changes are the backup's own data already. Owner-level, so managed databases
    // allow it; inside the transaction, so a failed restore leaves them on.
    for (const table of loaded) await client.query(`alter table ${quoteIdentifier(table)} disable trigger user`)
    let rows = 0
    for (const table of header.tables) {
      const statement = await next()
      if (statement !== `${copyStatement(table, 'FROM stdin')};`)
        throw new Error(`the backup is damaged: expected the data of ${table.name}, found ${describe(statement)}`)
      const ingest = client.query(copyFrom(copyStatement(table, 'FROM stdin')))
      let buffered = ''
      for (let line = await next(); line !== END_OF_DATA; line = await next()) {
        if (line === undefined) throw new Error(`the backup is cut short in the data of ${table.name}`)
        buffered += `${line}\n`
        if (buffered.length >= FLUSH_BYTES) {
          if (!ingest.write(buffered)) await once(ingest, 'drain')
          buffered = ''
        }
      }
      ingest.end(buffered)
      await finished(ingest)
      rows += Number(ingest.rowCount ?? 0)
    }
    if ((await next()) !== TRAILER) throw new Error('the backup is cut short: its closing line is missing')
    await resetSequences(client)
    for (const table of loaded) await client.query(`alter table ${quoteIdentifier(table)} enable trigger user`)
    const migrated = await migrateWithin(db)
    await client.query('commit')
    return { header, rows, migrated }
  } catch (error) {
    await client.query('rollback').catch(() => undefined)
    throw error
  }
}

/** Empties every table of PAM's schema; returns their names. */
async function truncateAll(client: pg.Client): Promise<string[]> {
  const present = (await tablesInLoadOrder(client)).map((table) => table.name)
  if (present.length > 0) await client.query(`truncate ${present.map(quoteIdentifier).join(', ')}`)
  return present
}

/** The first bytes of a file that is not PAM's backup say what it is, where they can. */
export async function recogniseBackup(file: string): Promise<void> {
  const handle = await open(file, 'r')
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(5), 0, 5, 0)
    const start = buffer.subarray(0, bytesRead)
    if (start.toString('latin1') === 'PGDMP')
      throw new Error(`${file} is a pg_dump archive (PAM's backups before December 2026): restore it with pg_restore`)
    if (start[0] !== 0x1f || start[1] !== 0x8b) throw new Error(`${file} is not a PAM backup (npx pam backup create)`)
  } finally {
    await handle.close()
  }
}

function parseHeader(line: string | undefined): BackupHeader {
  if (!line?.startsWith(MAGIC)) throw new Error('not a PAM backup: its first line is not the PAM backup header')
  const header = JSON.parse(line.slice(MAGIC.length)) as BackupHeader
  if (header.format !== 'pam-backup' || header.formatVersion > FORMAT_VERSION)
    throw new Error(`a backup of format ${header.formatVersion}, newer than this PAM reads (${FORMAT_VERSION})`)
  return header
}

/** The backup's migrations must all be this version's, in its order: a newer PAM's backup is refused. */
function checkMigrations(applied: string[]) {
  const known = Object.keys(migrations).sort()
  const unknown = applied.find((name, index) => known[index] !== name)
  if (unknown !== undefined) {
    throw new Error(
      `the backup was made by a newer or different PAM (migration ${unknown} is not this version's): restore it with that version`,
    )
  }
}

async function appliedMigrations(client: pg.Client): Promise<string[]> {
  const exists = await client.query("select to_regclass('public.kysely_migration') is not null as exists")
  if (!exists.rows[0]?.exists) return []
  return (await client.query<{ name: string }>('select name from public.kysely_migration order by name')).rows.map(
    (row) => row.name,
  )
}

/** PAM's tables (the public schema, less the migrator's own), parents before children. */
async function tablesInLoadOrder(client: pg.Client): Promise<{ name: string; columns: string[] }[]> {
  const { rows: columns } = await client.query<{ table: string; column: string }>(
    `select c.table_name as table, c.column_name as column
       from information_schema.columns c
       join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
      where c.table_schema = 'public' and t.table_type = 'BASE TABLE' and c.table_name not like 'kysely\\_%'
        and c.is_generated = 'NEVER'
      order by c.table_name, c.ordinal_position`,
  )
  const { rows: keys } = await client.query<{ child: string; parent: string }>(
    `select child.relname as child, parent.relname as parent
       from pg_constraint k
       join pg_class child on child.oid = k.conrelid
       join pg_class parent on parent.oid = k.confrelid
       join pg_namespace n on n.oid = child.relnamespace
      where k.contype = 'f' and n.nspname = 'public' and k.conrelid <> k.confrelid`,
  )
  const tables = new Map<string, string[]>()
  for (const { table, column } of columns) tables.set(table, [...(tables.get(table) ?? []), column])
  const ordered: string[] = []
  const visiting = new Set<string>()
  const visit = (name: string) => {
    if (ordered.includes(name) || visiting.has(name)) return
    visiting.add(name)
    for (const key of keys) if (key.child === name && tables.has(key.parent)) visit(key.parent)
    ordered.push(name)
  }
  for (const name of tables.keys()) visit(name)
  return ordered.map((name) => ({ name, columns: tables.get(name) ?? [] }))
}

/** Sequences behind PAM's columns (if any) continue after the restored rows. */
async function resetSequences(client: pg.Client) {
  const { rows } = await client.query<{ table: string; column: string; sequence: string }>(
    `select table_name as table, column_name as column,
            pg_get_serial_sequence(format('public.%I', table_name), column_name) as sequence
       from information_schema.columns
      where table_schema = 'public' and table_name not like 'kysely\\_%'
        and pg_get_serial_sequence(format('public.%I', table_name), column_name) is not null`,
  )
  for (const { table, column, sequence } of rows) {
    await client.query(
      `select setval($1, coalesce((select max(${quoteIdentifier(column)}) from public.${quoteIdentifier(table)}), 1), (select count(*) > 0 from public.${quoteIdentifier(table)}))`,
      [sequence],
    )
  }
}

/** Kysely on the caller's connection, inside the caller's transaction (the migrator runs there). */
function kyselyOn(client: pg.Client): Kysely<Database> {
  const connection = {
    query: (text: string, values: unknown[]) => client.query(text, values),
    release: () => undefined,
  }
  return new Kysely<Database>({
    dialect: new PostgresDialect({ pool: { connect: async () => connection, end: async () => undefined } as never }),
  })
}

const describe = (line: string | undefined) => (line === undefined ? 'the end of the file' : `"${line.slice(0, 60)}"`)
