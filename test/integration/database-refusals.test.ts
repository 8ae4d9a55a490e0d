import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { type ApiHarness, type Client, client, startApiHarness, userToken } from '../helpers/api.js'
import { eventually } from '../helpers/harness.js'

// The mapping of database errors to answers is the same in both modes (/v1/me touches only PostgreSQL).
describe('a database that refuses connections or is gone answers 503, never 500', () => {
  let api: ApiHarness
  let call: Client
  let admin: pg.Client
  let name: string

  before(async () => {
    api = await startApiHarness('postgres')
    call = client(api.app, await userToken())
    assert.equal((await call('GET', '/v1/me')).status, 200)
    name = new URL(api.harness.databaseUrl).pathname.slice(1)
    admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL })
    await admin.connect()
  })
  after(async () => {
    await admin.query(`alter database ${name} allow_connections true`).catch(() => undefined)
    await admin.end()
    await api.close()
  })

  // pg_terminate_backend only signals: the sessions are gone once they have exited (a rename fails
  // while one is still on its way out).
  const dropConnections = async () => {
    const others = 'from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()'
    await admin.query(`select pg_terminate_backend(pid) ${others}`, [name])
    await eventually(
      async () => ((await admin.query(`select 1 ${others}`, [name])).rowCount === 0 ? true : undefined),
      30_000,
      "the database's sessions to end",
    )
  }

  /** Several requests: the first may meet a connection that was cut, the next ones a refused connect. */
  const answers = async () => {
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) {
      const response = await call('GET', '/v1/me')
      statuses.push(response.status)
      if (response.status >= 500) assert.equal(response.body.error, 'unavailable', JSON.stringify(response.body))
    }
    return statuses
  }

  it('ALLOW_CONNECTIONS false (55000) is a 503, and 200 again once allowed', async () => {
    await admin.query(`alter database ${name} allow_connections false`)
    await dropConnections()
    assert.deepEqual(await answers(), [503, 503, 503, 503])
    await admin.query(`alter database ${name} allow_connections true`)
    assert.equal((await call('GET', '/v1/me')).status, 200)
  })

  it('a database that does not exist (3D000) is a 503, and 200 again once back', async () => {
    await admin.query(`alter database ${name} allow_connections false`)
    await dropConnections()
    await admin.query(`alter database ${name} rename to ${name}_away`)
    try {
      assert.deepEqual(await answers(), [503, 503, 503, 503])
    } finally {
      await admin.query(`alter database ${name}_away rename to ${name}`)
      await admin.query(`alter database ${name} allow_connections true`)
    }
    assert.equal((await call('GET', '/v1/me')).status, 200)
  })
})

describe('a write the database undoes for colliding with another answers 503, never 500', () => {
  let api: ApiHarness
  let call: Client
  let admin: pg.Client

  before(async () => {
    api = await startApiHarness('postgres')
    call = client(api.app, await userToken())
    admin = new pg.Client({ connectionString: api.harness.databaseUrl })
    await admin.connect()
  })
  after(async () => {
    await admin.end()
    await api.close()
  })

  // PostgreSQL's own answers to a deadlock (40P01) and a serialization failure (40001), raised
  // where the write's statement runs: the collisions themselves depend on timing no test controls.
  for (const [sqlState, what] of [
    ['40P01', 'deadlock detected'],
    ['40001', 'could not serialize access due to concurrent update'],
  ]) {
    it(`${sqlState} (${what}) is a 503 the client may retry, and nothing is stored`, async () => {
      const stored = async () => (await admin.query('select 1 from context_signals')).rowCount
      const before = await stored()
      await admin.query(`create function collide() returns trigger language plpgsql as $$
        begin raise exception '${what}' using errcode = '${sqlState}'; end $$`)
      await admin.query(
        'create trigger collide before insert on context_signals for each row execute function collide()',
      )
      try {
        const refused = await call('POST', '/v1/context-signals', {
          kind: 'activity',
          value: 'driving',
          confidence: 0.9,
        })
        assert.equal(refused.status, 503, JSON.stringify(refused.body))
        assert.equal(refused.body.error, 'unavailable')
        assert.doesNotMatch(JSON.stringify(refused.body), /serializ|deadlock|context_signals/i)
      } finally {
        await admin.query('drop trigger collide on context_signals')
        await admin.query('drop function collide()')
      }
      assert.equal(await stored(), before)
      assert.equal(
        (await call('POST', '/v1/context-signals', { kind: 'activity', value: 'driving', confidence: 0.9 })).status,
        201,
      )
    })
  }
})
