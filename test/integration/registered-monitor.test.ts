import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { schedules } from '../../src/jobs/schedules.js'
import { registerMonitor } from '../../src/monitoring/registry.js'
import { mileageAllowance } from '../fixtures/monitors/mileage-allowance/monitor.js'
import { type AlertStack, startAlertStack } from '../helpers/alert-stack.js'
import { VEHICLE } from '../helpers/api.js'
import { inBothModes } from '../helpers/harness.js'

// A monitor PAM does not ship, from a folder outside src/, added by one call: no migration and no
// edit of PAM's files. Its tasks, schedule, marks and the API's kind enum follow from the call.
registerMonitor(mileageAllowance)

// biome-ignore lint/suspicious/noExplicitAny: alerts arrive as JSON and are read field by field
type Message = Record<string, any>

inBothModes('a monitor registered from outside src/', (mode) => {
  let stack: AlertStack
  before(async () => {
    stack = await startAlertStack(mode, {})
  })
  after(async () => {
    await stack.close()
  })

  it('opens its alert on the socket and in GET /v1/alerts after a write, and resolves it after the next', async () => {
    const { call, stream } = await stack.traveller()
    const vehicle = await call('POST', '/v1/vehicles', VEHICLE)
    assert.equal(vehicle.status, 201)

    const moved = await call('PATCH', `/v1/vehicles/${vehicle.body.id}`, { odometerKm: 100_450 })
    assert.equal(moved.status, 200, JSON.stringify(moved.body))
    const created: Message = await stream.next(
      (m: Message) => m.type === 'alert.created' && m.alert.kind === 'mileage_over_allowance',
      15_000,
    )
    assert.equal(created.alert.title, 'Campervan is past its 100000 km allowance')
    assert.equal(created.alert.data.vehicleId, vehicle.body.id)

    const listed = await call('GET', '/v1/alerts?kind=mileage_over_allowance')
    assert.equal(listed.status, 200, JSON.stringify(listed.body))
    assert.deepEqual(
      listed.body.items.map((alert: Message) => [alert.id, alert.kind]),
      [[created.alert.id, 'mileage_over_allowance']],
    )

    assert.equal((await call('DELETE', `/v1/vehicles/${vehicle.body.id}`)).status, 204)
    await stream.next((m: Message) => m.type === 'alert.resolved' && m.alertId === created.alert.id, 15_000)
    assert.deepEqual((await call('GET', '/v1/alerts?kind=mileage_over_allowance')).body.items, [])
  })

  it('has its sweep scheduled and its kind in the API contract', async () => {
    assert.ok(
      schedules(stack.harness.config).some(
        (s) => s.id === 'pam-mileage-allowance' && s.task === 'monitor.mileage.sweep',
      ),
    )
    const doc = (await stack.app.inject({ method: 'GET', url: '/docs/json' })).json()
    assert.ok(JSON.stringify(doc).includes('mileage_over_allowance'), 'the OpenAPI document lists the kind')
  })
})

it('refuses a second monitor with the same name or alert kind, naming the clash', () => {
  assert.throws(
    () => registerMonitor(mileageAllowance),
    /a monitor named mileage is registered.*already opens mileage_over_allowance/,
  )
})
