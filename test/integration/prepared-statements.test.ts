import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import { sql } from 'kysely'
import { type ApiHarness, client, startApiHarness, userToken, VEHICLE } from '../helpers/api.js'
import { inBothModes } from '../helpers/harness.js'

inBothModes('list pages as prepared statements', (mode) => {
  let api: ApiHarness

  before(async () => {
    api = await startApiHarness(mode)
  })
  after(async () => {
    await api?.close()
  })

  it('keeps answering when a migration changes the listed table under a running API', async () => {
    const call = client(api.app, await userToken(randomUUID()))
    assert.equal((await call('POST', '/v1/vehicles', VEHICLE)).status, 201)
    // Every pooled connection prepares the list statement.
    for (let i = 0; i < 20; i++) assert.equal((await call('GET', '/v1/vehicles')).status, 200)
    const db = api.harness.deps.db
    await sql`alter table vehicles add column prepared_test_extra integer`.execute(db)
    try {
      // PostgreSQL refuses the prepared `select *` once ("cached plan must not change result type").
      for (let i = 0; i < 20; i++) {
        const listed = await call('GET', '/v1/vehicles')
        assert.equal(listed.status, 200, JSON.stringify(listed.body))
        assert.equal(listed.body.items.length, 1)
      }
    } finally {
      await sql`alter table vehicles drop column prepared_test_extra`.execute(db)
    }
    assert.equal((await call('GET', '/v1/vehicles')).status, 200)
  })
})
