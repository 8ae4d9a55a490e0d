import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import pg from 'pg'
import { createDatabase } from '../../src/platform/db/database.js'
import { migrateUp } from '../../src/platform/db/migrator.js'
import { createLogger } from '../../src/platform/logger.js'
import { userToken } from '../helpers/api.js'
import { startFakeSentry } from '../helpers/fake-sentry.js'
import { eventually, inBothModes, TEST_INTERNAL_TOKEN, TEST_JWT_SECRET, testEnv } from '../helpers/harness.js'
import { freePort, spawnPam } from '../helpers/process.js'
import { createTestDatabase } from '../helpers/services.js'

const NOTE = `a private note ${randomUUID()}`

async function call(base: string, method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
  return response.status
}

inBothModes('error tracking with Sentry (a real pam api process)', (mode) => {
  let database: { url: string; drop(): Promise<void> }
  before(async () => {
    database = await createTestDatabase()
    // Migrated before the API starts: a request that arrives while it migrates is not this test's subject.
    const handle = createDatabase(database.url, createLogger({ level: 'silent', role: 'test' }))
    await migrateUp(handle.db)
    await handle.close()
  })
  after(async () => {
    await database.drop()
  })

  it('reports a 500 once with its route and the user id only, never a 400, and sends it before exiting on SIGTERM', async () => {
    // Each answer is held a while: a process that exits without waiting for its reports (close-with-grace
    // exits as soon as the shutdown is done) cuts this one off. Well within the 2 s the flush is given.
    const sentry = await startFakeSentry({ answerAfterMs: 600 })
    try {
      const port = await freePort()
      const pam = spawnPam(
        ['api'],
        testEnv(mode, database.url, { PORT: String(port), SENTRY_DSN: sentry.dsn, SENTRY_ENVIRONMENT: 'test-env' }),
      )
      const base = `http://127.0.0.1:${port}`
      const userId = randomUUID()
      const token = await userToken(userId)
      // Its database ready, not only answering: until the process knows its schema is current, a
      // missing table is "starting" (503), which on a loaded machine the dropped table below met.
      // (/ready as a whole also waits for workers, which this test runs none of.)
      await eventually(
        async () => {
          const ready = await fetch(`${base}/ready`).catch(() => undefined)
          const body = (await ready?.json().catch(() => undefined)) as { components?: { database?: boolean } }
          return body?.components?.database === true ? true : undefined
        },
        60_000,
        "the API's database to be ready",
      )
      // A client's mistake: 400, not a report.
      assert.equal(await call(base, 'POST', '/v1/expenses', token, { amount: 'lots', note: NOTE }), 400)
      // A table gone from under the API: a genuine 500.
      const client = new pg.Client({ connectionString: database.url })
      await client.connect()
      await client.query('drop table expenses cascade')
      await client.end()
      const expense = { amount: 12.5, currency: 'EUR', category: 'food', spentAt: new Date().toISOString(), note: NOTE }
      assert.equal(await call(base, 'POST', `/v1/expenses?access_token=${token}`, token, expense), 500)
      assert.equal(await pam.stop('SIGTERM'), 0, pam.output())

      assert.equal(
        sentry.events.length,
        1,
        JSON.stringify(
          sentry.events.map((e) => [e.exception?.values?.[0]?.value, e.tags, e.exception?.values?.[0]?.mechanism]),
        ),
      )
      assert.equal(sentry.answered(), 1, 'the report was answered before the process exited')
      const [event] = sentry.events
      assert.equal(event?.environment, 'test-env')
      assert.deepEqual(
        { route: event?.tags?.route, method: event?.tags?.method, role: event?.tags?.role },
        { route: '/v1/expenses', method: 'POST', role: 'api' },
      )
      assert.deepEqual(event?.user, { id: userId })
      assert.match(event?.exception?.values?.[0]?.value ?? '', /expenses/)
      const everything = sentry.raw.join('\n')
      for (const secret of [token, NOTE, TEST_JWT_SECRET, TEST_INTERNAL_TOKEN, database.url]) {
        assert.ok(!everything.includes(secret), `a report holds ${secret.slice(0, 12)}…`)
      }
    } finally {
      await sentry.close()
    }
  })
})
