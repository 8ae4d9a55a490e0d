import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { type ApiHarness, type Client, client, startApiHarness, userToken } from '../helpers/api.js'

// The request hash is computed in the API process the same way in both modes.
describe('Idempotency-Key compares a canonical form of the body', () => {
  let api: ApiHarness
  let call: Client

  before(async () => {
    api = await startApiHarness('postgres')
    call = client(api.app, await userToken())
  })
  after(() => api.close())

  it('replays the same JSON with its keys in another order, at every level', async () => {
    const key = { 'idempotency-key': randomUUID() }
    const first = await call(
      'POST',
      '/v1/trips',
      {
        name: 'Moab',
        destination: { name: 'Moab', lat: 38.57, lon: -109.55 },
        departFrom: '2099-01-01',
        departUntil: '2099-01-10',
        days: 5,
      },
      key,
    )
    assert.equal(first.status, 201)
    const reordered = await call(
      'POST',
      '/v1/trips',
      {
        days: 5,
        departUntil: '2099-01-10',
        destination: { lon: -109.55, lat: 38.57, name: 'Moab' },
        departFrom: '2099-01-01',
        name: 'Moab',
      },
      key,
    )
    assert.equal(reordered.status, 201, JSON.stringify(reordered.body))
    assert.equal(reordered.headers['idempotent-replayed'], 'true')
    assert.equal(reordered.body.id, first.body.id)
    assert.equal((await call('GET', '/v1/trips')).body.items.length, 1)
    // A different value is still a different request.
    const other = await call(
      'POST',
      '/v1/trips',
      {
        days: 6,
        departUntil: '2099-01-10',
        destination: { lon: -109.55, lat: 38.57, name: 'Moab' },
        departFrom: '2099-01-01',
        name: 'Moab',
      },
      key,
    )
    assert.equal(other.status, 422)
  })
})
