import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import { type ApiHarness, client, startApiHarness, userToken, VEHICLE } from '../helpers/api.js'
import { inBothModes } from '../helpers/harness.js'

// biome-ignore lint/suspicious/noExplicitAny: answers arrive as JSON and are read field by field
type Json = Record<string, any>

/** The API without a worker: a write's evaluation waits, as it does for the seconds before a worker takes it. */
inBothModes('why (not) while an evaluation waits', (mode) => {
  let api: ApiHarness

  before(async () => {
    api = await startApiHarness(mode)
  })
  after(async () => {
    await api?.close()
  })

  it('shows the rule wanting an alert that is not open yet, the write waiting, and the decisions for that alert', async () => {
    const call = client(api.app, await userToken(randomUUID()))
    await call('GET', '/v1/me')
    const vehicle = (await call('POST', '/v1/vehicles', VEHICLE)).body
    const written = Date.now()
    await call('POST', `/v1/vehicles/${vehicle.id}/fuel-readings`, { percent: 8, lat: 38.57, lon: -109.55 })
    const response = await call('GET', `/v1/monitors/fuel_low/state?subject=${vehicle.id}`)
    assert.equal(response.status, 200, JSON.stringify(response.body))
    const state = response.body as Json
    assert.equal(state.result.condition, true)
    assert.equal(state.result.priority, 'high')
    assert.equal(state.openAlert, null)
    assert.equal(state.lastEvaluation.evaluatedAt, null, 'never evaluated: no worker runs')
    assert.ok(Date.parse(state.lastEvaluation.pendingSince) >= written - 1_000, state.lastEvaluation.pendingSince)
    const decisions = Object.fromEntries(
      state.channels.map((c: Json) => [c.channel, [c.decision, c.reason, c.delivery]]),
    )
    // High passes both channels' default minimum; this deployment has no SMTP, no browser is
    // subscribed, and nothing is recorded yet.
    assert.deepEqual(decisions, {
      email: ['suppress', 'channel not configured', null],
      push: ['suppress', 'no subscription', null],
    })
  })
})
