import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { gunzipSync, gzipSync } from 'node:zlib'
import pg from 'pg'
import { mintDevToken } from '../../src/http/auth/dev-token.js'
import { tempFolder } from '../helpers/cleanup.js'
import { eventually, testEnv } from '../helpers/harness.js'
import { freePort, get, spawnPam } from '../helpers/process.js'
import { createTestDatabase } from '../helpers/services.js'

/** Runs `pam <args>` to its end; returns its output, failing with it when the exit code differs. */
async function pam(args: string[], env: Record<string, string>, expected = 0): Promise<string> {
  const run = spawnPam(args, env)
  assert.equal(await run.exited, expected, run.output())
  return run.output()
}

describe('pam backup on the embedded default (nothing else installed)', () => {
  it('round-trips through a running PAM: create, delete, restore, the data is back', async () => {
    const folder = tempFolder()
    // As root the embedded server runs as `postgres`, which must reach PAM_HOME.
    chmodSync(folder, 0o755)
    const port = await freePort()
    const env = {
      PAM_HOME: join(folder, '.pam'),
      PORT: String(port),
      EMBEDDED_DATABASE_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: '5000',
    }
    const server = spawnPam(['start'], env)
    try {
      await eventually(
        async () => ((await get(`http://127.0.0.1:${port}/ready`)).status === 200 ? true : undefined),
        90_000,
        'the embedded PAM to be ready',
      )
      const { jwtSecret } = JSON.parse(readFileSync(join(env.PAM_HOME, 'secrets.json'), 'utf8'))
      const token = await mintDevToken({
        secret: jwtSecret,
        userId: randomUUID(),
        ttl: '1h',
        audience: 'authenticated',
      })
      const api = async (method: string, path: string, body?: unknown) => {
        const response = await fetch(`http://127.0.0.1:${port}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        })
        const text = await response.text()
        assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`)
        return text ? JSON.parse(text) : undefined
      }
      const vehicle = await api('POST', '/v1/vehicles', {
        name: 'Campervan',
        fuelCapacityL: 80,
        consumptionLPer100Km: 12.5,
        odometerKm: 52_000,
      })
      await api('POST', `/v1/vehicles/${vehicle.id}/fuel-readings`, { percent: 15 })
      const alert = await eventually(async () => (await api('GET', '/v1/alerts')).items[0], 30_000, 'the fuel alert')

      const file = join(folder, 'pam.backup.gz')
      const created = await pam(['backup', 'create', '--out', file], env)
      assert.match(created, /pam\.backup\.gz/)
      assert.match(created, /backed up embedded PostgreSQL on port \d+ to .*: \d+ rows in \d+ tables/)
      assert.match(gunzipSync(readFileSync(file)).toString('utf8'), /^-- PAM backup \{"format":"pam-backup"/)

      await api('DELETE', `/v1/vehicles/${vehicle.id}`)
      assert.deepEqual((await api('GET', '/v1/vehicles')).items, [])

      const restored = await pam(['backup', 'restore', file], env)
      assert.match(restored, /restored .*pam\.backup\.gz \(made .* by PAM [\d.]+, \d+ rows\)/)
      assert.deepEqual(
        (await api('GET', '/v1/vehicles')).items.map((v: { id: string; name: string }) => [v.id, v.name]),
        [[vehicle.id, 'Campervan']],
      )
      assert.equal((await api('GET', '/v1/alerts')).items[0]?.id, alert.id)
      assert.equal((await api('GET', `/v1/vehicles/${vehicle.id}/fuel-readings`)).items[0]?.percent, 15)
    } finally {
      assert.equal(await server.stop('SIGINT'), 0, server.output())
    }
  })
})

describe('pam backup across versions and damage', () => {
  let database: { url: string; drop(): Promise<void> }
  let env: Record<string, string>
  let client: pg.Client
  const query = async (text: string, values: unknown[] = []) => (await client.query(text, values)).rows

  before(async () => {
    database = await createTestDatabase()
    env = testEnv('postgres', database.url)
    client = new pg.Client({ connectionString: database.url })
    await client.connect()
  })
  after(async () => {
    await client.end()
    await database.drop()
  })

  it('restores a backup of an older schema into a newer one, and of the newer into a database not migrated at all', async () => {
    await pam(['migrate', 'up'], env)
    const latest = (await query('select name from kysely_migration order by name')).map((row) => row.name)
    await pam(['migrate', 'down'], env)
    const user = randomUUID()
    await query(`insert into users (id, timezone) values ($1, 'Europe/Berlin')`, [user])
    await query(
      `insert into vehicles (user_id, name, fuel_capacity_l, consumption_l_per_100km, odometer_km) values ($1, 'Campervan', 80, 12.5, 0)`,
      [user],
    )
    const folder = tempFolder()
    const older = join(folder, 'older.backup.gz')
    await pam(['backup', 'create', '--out', older], env)

    // This PAM is a migration further on; what was written since goes away with the restore.
    await pam(['migrate', 'up'], env)
    await query('delete from users')
    await query(`insert into users (id, timezone) values ($1, 'UTC')`, [randomUUID()])
    const restored = await pam(['backup', 'restore', older], env)
    assert.match(restored, new RegExp(`then migrated: Up ${latest.at(-1)}`))
    assert.deepEqual(await query('select id, timezone from users'), [{ id: user, timezone: 'Europe/Berlin' }])
    assert.deepEqual(await query('select name, fuel_capacity_l from vehicles'), [
      { name: 'Campervan', fuel_capacity_l: '80.00' },
    ])
    assert.deepEqual(
      (await query('select name from kysely_migration order by name')).map((row) => row.name),
      latest,
    )

    // Into a database with no schema at all (a new machine): the schema comes with the restore.
    const newer = join(folder, 'newer.backup.gz')
    await pam(['backup', 'create', '--out', newer], env)
    const empty = await createTestDatabase()
    try {
      await pam(['backup', 'restore', newer], testEnv('postgres', empty.url))
      const fresh = new pg.Client({ connectionString: empty.url })
      await fresh.connect()
      try {
        assert.deepEqual((await fresh.query('select id from users')).rows, [{ id: user }])
      } finally {
        await fresh.end()
      }
    } finally {
      await empty.drop()
    }
  })

  it('changes nothing when the backup is cut short, is from a newer PAM, or is not a PAM backup', async () => {
    await pam(['migrate', 'up'], env)
    const folder = tempFolder()
    const good = join(folder, 'good.backup.gz')
    await pam(['backup', 'create', '--out', good], env)
    const text = gunzipSync(readFileSync(good)).toString('utf8')
    const before = await query('select id from users order by id')
    assert.ok(before.length > 0, 'the previous test left a traveller to keep')
    await query('delete from users')
    const after = await query('select id from users')

    // Cut off before its closing line (a copy that did not finish).
    const cut = join(folder, 'cut.backup.gz')
    writeFileSync(cut, gzipSync(text.slice(0, text.lastIndexOf('-- PAM backup complete'))))
    assert.match(await pam(['backup', 'restore', cut], env, 1), /the backup is cut short/)
    assert.deepEqual(await query('select id from users'), after)

    // Made by a PAM with a migration this one does not know.
    const newer = join(folder, 'newer.backup.gz')
    writeFileSync(newer, gzipSync(text.replace('"migrations":[', '"migrations":["0000_from_the_future",')))
    assert.match(await pam(['backup', 'restore', newer], env, 1), /made by a newer or different PAM/)

    // A pg_dump archive, as PAM wrote before, and anything else.
    const dump = join(folder, 'old.dump')
    writeFileSync(dump, 'PGDMP\u0001\u000e\u0000')
    assert.match(await pam(['backup', 'restore', dump], env, 2), /is a pg_dump archive .*restore it with pg_restore/)
    assert.match(await pam(['backup', 'restore', '/nonexistent/pam.backup.gz'], env, 2), /no backup file at/)
    assert.deepEqual(await query('select id from users'), after)

    // The good one still restores.
    await pam(['backup', 'restore', good], env)
    assert.deepEqual(await query('select id from users order by id'), before)
  })

  it('never leaves a partial file, nor overwrites an existing one', async () => {
    const folder = tempFolder()
    const existing = join(folder, 'taken.backup.gz')
    writeFileSync(existing, 'keep me')
    assert.match(await pam(['backup', 'create', '--out', existing], env, 2), /exists/)
    assert.equal(readFileSync(existing, 'utf8'), 'keep me')
    // A database that does not answer: the command fails before writing anything.
    const unreachable = { ...env, DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/none` }
    await pam(['backup', 'create', '--out', join(folder, 'none.backup.gz')], unreachable, 1)
    assert.deepEqual(readdirSync(folder), ['taken.backup.gz'])
  })
})
