import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import { checkToolVersion, toolMajorVersion } from '../../src/backup/pg-tools.js'
import { tempFolder } from '../helpers/cleanup.js'
import { type Harness, startHarness } from '../helpers/harness.js'
import { spawnPam } from '../helpers/process.js'

async function whyNot(harness: Harness): Promise<string | undefined> {
  try {
    const { rows } = await sql<{ server_version_num: string }>`show server_version_num`.execute(harness.deps.db)
    checkToolVersion(
      'pg_dump',
      await toolMajorVersion('pg_dump'),
      Math.floor(Number(rows[0]?.server_version_num) / 10_000),
    )
    return undefined
  } catch (error) {
    return (error as Error).message
  }
}

describe('pam backup', () => {
  let harness: Harness
  let skip: string | undefined
  before(async () => {
    harness = await startHarness('postgres')
    skip = await whyNot(harness)
  })
  after(() => harness.close())

  it('names both versions when the client tools are older than the server', () => {
    assert.throws(
      () => checkToolVersion('pg_dump', 15, 17),
      /pg_dump 15 is older than the server \(PostgreSQL 17\): install the PostgreSQL 17 client tools/,
    )
    assert.doesNotThrow(() => checkToolVersion('pg_dump', 17, 15))
  })

  it('round-trips: create → rows deleted → restore → rows back', async (t) => {
    if (skip) return t.skip(`no usable pg_dump here: ${skip}`)
    const { db } = harness.deps
    const userId = randomUUID()
    await db.insertInto('users').values({ id: userId, timezone: 'Europe/Berlin' }).execute()
    await db
      .insertInto('vehicles')
      .values({
        user_id: userId,
        name: 'Campervan',
        fuel_capacity_l: 80,
        consumption_l_per_100km: 12.5,
        odometer_km: 0,
      })
      .execute()
    const env = {
      DATABASE_URL: harness.databaseUrl,
      JWT_SECRET: 'backup-test-secret-0123456789abcdef0123',
      INTERNAL_TOKEN: 'backup-test-token-0123456789abcdef',
      LOG_LEVEL: 'silent',
    }
    const file = join(tempFolder(), 'pam.dump')
    const created = spawnPam(['backup', 'create', '--out', file], env)
    assert.equal(await created.exited, 0, created.output())
    assert.match(created.output(), /pam\.dump/)

    await db.deleteFrom('users').execute()
    assert.equal((await db.selectFrom('vehicles').selectAll().execute()).length, 0)

    const restored = spawnPam(['backup', 'restore', file], env)
    assert.equal(await restored.exited, 0, restored.output())
    const vehicles = await db.selectFrom('vehicles').select(['name', 'user_id', 'fuel_capacity_l']).execute()
    assert.deepEqual(vehicles, [{ name: 'Campervan', user_id: userId, fuel_capacity_l: '80.00' }])
    const user = await db.selectFrom('users').select('timezone').where('id', '=', userId).executeTakeFirst()
    assert.equal(user?.timezone, 'Europe/Berlin')
  })

  /** A folder holding a `pg_dump` that says it is `version` and, asked to dump, runs `dump`. */
  const fakePgDump = (version: string, dump: string) => {
    const tools = tempFolder()
    writeFileSync(
      join(tools, 'pg_dump'),
      `#!/bin/sh\ncase "$1" in --version) echo "pg_dump (PostgreSQL) ${version}"; exit 0;; esac\n${dump}\n`,
      { mode: 0o755 },
    )
    return `${tools}:${process.env.PATH}`
  }

  it('names both versions, before dumping, when pg_dump is older than the server', async () => {
    const out = tempFolder()
    const refused = spawnPam(['backup', 'create', '--out', join(out, 'pam.dump')], {
      DATABASE_URL: harness.databaseUrl,
      PATH: fakePgDump('9.6', 'echo dumped > /dev/null; exit 0'),
      LOG_LEVEL: 'silent',
    })
    assert.equal(await refused.exited, 1, refused.output())
    assert.match(
      refused.output(),
      /pg_dump 9 is older than the server \(PostgreSQL \d+\): install the PostgreSQL \d+ client tools/,
    )
    assert.deepEqual(readdirSync(out), [])
  })

  it('leaves no file behind when pg_dump fails part way', async () => {
    // A pg_dump that writes half a dump and then fails, as a dropped connection or a full disk does.
    const path = fakePgDump(
      '99.0',
      `for arg; do case "$arg" in --file=*) printf 'PGDMP half a dump' > "\${arg#--file=}";; esac; done
echo "pg_dump: error: connection to server lost" >&2; exit 1`,
    )
    const out = tempFolder()
    const file = join(out, 'pam.dump')
    const failed = spawnPam(['backup', 'create', '--out', file], {
      DATABASE_URL: harness.databaseUrl,
      PATH: path,
      LOG_LEVEL: 'silent',
    })
    assert.equal(await failed.exited, 1, failed.output())
    assert.match(failed.output(), /pg_dump failed: pg_dump: error: connection to server lost/)
    assert.deepEqual(readdirSync(out), [], 'a partial dump was left behind')
  })

  it('refuses a missing file with a usage error, changing nothing', async () => {
    const missing = spawnPam(['backup', 'restore', '/nonexistent/pam.dump'], { DATABASE_URL: harness.databaseUrl })
    assert.equal(await missing.exited, 2)
    assert.match(missing.output(), /no backup file at \/nonexistent\/pam\.dump/)
  })
})
