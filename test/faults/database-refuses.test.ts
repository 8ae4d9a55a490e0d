import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { type ApiHarness, client, startApiHarness, userToken, VEHICLE } from '../helpers/api.js'
import { admin, cutOffSessions } from '../helpers/database-outage.js'
import { eventually, inBothModes, type Mode } from '../helpers/harness.js'

inBothModes('a database that refuses sessions or is gone', (mode: Mode) => {
  let api: ApiHarness
  let name: string
  const renamed = () => `${name}_gone`

  before(async () => {
    api = await startApiHarness(mode)
    name = new URL(api.harness.databaseUrl).pathname.slice(1)
  })
  after(async () => {
    // Whatever step failed, the database ends up under its own name and open again, to be dropped.
    await admin(`alter database "${renamed()}" rename to "${name}"`).catch(() => undefined)
    await admin(`alter database "${name}" allow_connections true`).catch(() => undefined)
    await api.close()
  })

  it('answers 503, not 500, and 2xx again once the database is back', async () => {
    const call = client(api.app, await userToken())
    assert.equal((await call('POST', '/v1/vehicles', VEHICLE)).status, 201)
    const accepted = async () => ((await call('POST', '/v1/vehicles', VEHICLE)).status === 201 ? true : undefined)

    // ALLOW_CONNECTIONS false: new sessions get 55000.
    await admin(`alter database "${name}" allow_connections false`, cutOffSessions(name))
    const refused = await call('POST', '/v1/vehicles', VEHICLE)
    assert.equal(refused.status, 503, JSON.stringify(refused.body))
    assert.equal(refused.body.error, 'unavailable')
    await admin(`alter database "${name}" allow_connections true`)
    await eventually(accepted, 15_000, 'a write accepted again')

    // Gone (dropped, or renamed away): new sessions get 3D000.
    await admin(`alter database "${name}" allow_connections false`, cutOffSessions(name))
    await admin(`alter database "${name}" rename to "${renamed()}"`)
    const gone = await call('POST', '/v1/vehicles', VEHICLE)
    assert.equal(gone.status, 503, JSON.stringify(gone.body))
    assert.equal(gone.body.error, 'unavailable')
    await admin(`alter database "${renamed()}" rename to "${name}"`, `alter database "${name}" allow_connections true`)
    await eventually(accepted, 15_000, 'a write accepted again')
  })
})
