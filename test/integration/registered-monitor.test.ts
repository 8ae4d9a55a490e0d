import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import { schedules } from '../../src/jobs/schedules.js'
import { registerMonitor } from '../../src/monitoring/registry.js'
import { mileageAllowance } from '../fixtures/monitors/mileage-allowance/monitor.js'
import { type AlertStack, startAlertStack } from '../helpers/alert-stack.js'
import { userToken, VEHICLE } from '../helpers/api.js'
import { eventually, inBothModes, TEST_INTERNAL_TOKEN, testEnv } from '../helpers/harness.js'
import { freePort, get, type PamProcess, spawnPam } from '../helpers/process.js'
import { createTestDatabase } from '../helpers/services.js'

const FIXTURE = './test/fixtures/monitors/mileage-allowance/monitor.ts'

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
    const { id, call, stream } = await stack.traveller()
    const vehicle = await call('POST', '/v1/vehicles', VEHICLE)
    assert.equal(vehicle.status, 201)
    // A write that does not go through the API marks it too: the trigger reads monitor_inputs.
    const marked = await stack.harness.deps.db.transaction().execute(async (trx) => {
      await sql`update vehicles set name = name where id = ${vehicle.body.id}`.execute(trx)
      return trx.selectFrom('evaluation_marks').select('monitor').where('user_id', '=', id).execute()
    })
    assert.ok(
      marked.some((mark) => mark.monitor === 'mileage'),
      JSON.stringify(marked),
    )

    const moved = await call('PATCH', `/v1/vehicles/${vehicle.body.id}`, { odometerKm: 100_450 })
    assert.equal(moved.status, 200, JSON.stringify(moved.body))
    const created: Message = await stream.next(
      (m: Message) => m.type === 'alert.created' && m.alert.kind === 'mileage_over_allowance',
      30_000,
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
    await stream.next((m: Message) => m.type === 'alert.resolved' && m.alertId === created.alert.id, 30_000)
    assert.deepEqual((await call('GET', '/v1/alerts?kind=mileage_over_allowance')).body.items, [])
  })

  it('has its sweep in the schedule list and its kind in the API contract', async () => {
    assert.ok(
      schedules(stack.harness.config).some(
        (s) => s.id === 'pam-mileage-allowance' && s.task === 'monitor.mileage.sweep',
      ),
    )
    const doc = (await stack.app.inject({ method: 'GET', url: '/docs/json' })).json()
    assert.ok(JSON.stringify(doc).includes('mileage_over_allowance'), 'the OpenAPI document lists the kind')
  })
})

describe('PAM_MONITORS: the monitors every process of a deployment loads', () => {
  let database: { url: string; drop(): Promise<void> }
  let pam: PamProcess | undefined
  before(async () => {
    database = await createTestDatabase()
  })
  after(async () => {
    await pam?.stop('SIGKILL')
    await database.drop()
  })

  it('pam start loads the named module: its writes mark it, its alert opens, its sweep is scheduled', async () => {
    const port = await freePort()
    pam = spawnPam(
      ['start'],
      testEnv('postgres', database.url, { PORT: String(port), PAM_MONITORS: FIXTURE, LOG_LEVEL: 'warn' }),
      { fromSource: true },
    )
    const base = `http://127.0.0.1:${port}`
    await eventually(async () => ((await get(`${base}/ready`)).status === 200 ? true : undefined), 60_000, 'ready')
    const headers = { authorization: `Bearer ${await userToken()}`, 'content-type': 'application/json' }
    const call = async (method: string, path: string, body?: object): Promise<{ status: number; body: Message }> => {
      const response = await fetch(`${base}${path}`, { method, headers, body: body && JSON.stringify(body) })
      return { status: response.status, body: (await response.json()) as Message }
    }
    const vehicle = await call('POST', '/v1/vehicles', { ...VEHICLE, odometerKm: 100_450 })
    assert.equal(vehicle.status, 201, JSON.stringify(vehicle.body))
    const alert = await eventually(
      async () => (await call('GET', '/v1/alerts?kind=mileage_over_allowance')).body.items[0],
      30_000,
      'the mileage alert',
    )
    assert.equal(alert.data.vehicleId, vehicle.body.id)
    const internal = { authorization: `Bearer ${TEST_INTERNAL_TOKEN}` }
    const scheduled = await eventually(async () => {
      const { body } = await get(`${base}/internal/schedules`, internal)
      const ids = (body as { schedules?: { id: string }[] }).schedules?.map((s) => s.id) ?? []
      return ids.includes('pam-mileage-allowance') ? ids : undefined
    }, 30_000)
    assert.ok(scheduled.includes('pam-fuel-monitoring'))
    assert.equal(await pam.stop('SIGTERM'), 0, pam.output())
  })

  it('names the variable and the module when it cannot load one, and does not start', async () => {
    const missing = spawnPam(['config', 'check'], { PAM_MONITORS: './no/such/monitor.js' }, { fromSource: true })
    assert.equal(await missing.exited, 1)
    assert.match(missing.output(), /PAM_MONITORS: cannot load \.\/no\/such\/monitor\.js/)
  })
})
