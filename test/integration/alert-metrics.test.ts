import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import parsePrometheus from 'parse-prometheus-text-format'
import { type AlertStack, startAlertStack } from '../helpers/alert-stack.js'
import { VEHICLE } from '../helpers/api.js'
import { startFakeOverpass } from '../helpers/fake-overpass.js'
import { eventually, inBothModes, TEST_INTERNAL_TOKEN } from '../helpers/harness.js'

const MOAB = { lat: 38.57, lon: -109.55 }

inBothModes('metrics of alerts: changes by kind, write→alert latency, sweeps', (mode) => {
  let overpass: Awaited<ReturnType<typeof startFakeOverpass>>
  let stack: AlertStack
  before(async () => {
    overpass = await startFakeOverpass()
    stack = await startAlertStack(mode, { PLACES_API_URL: overpass.url })
  })
  after(async () => {
    await stack.close()
    await overpass.close()
  })

  const scrape = async () => {
    const response = await stack.app.inject({
      url: '/metrics',
      headers: { authorization: `Bearer ${TEST_INTERNAL_TOKEN}` },
    })
    return response.body
  }
  const value = (text: string, name: string, labels: Record<string, string>) => {
    const family = parsePrometheus(text).find((f) => f.name === name)
    const sample = (family?.metrics ?? []).find((m) =>
      Object.entries(labels).every(([key, v]) => (m as { labels?: Record<string, string> }).labels?.[key] === v),
    ) as { value?: string } | undefined
    return sample?.value === undefined ? undefined : Number(sample.value)
  }

  it('counts an alert created and resolved by its kind, and times it from the write', async () => {
    const { call, stream } = await stack.traveller()
    try {
      const vehicle = (await call('POST', '/v1/vehicles', VEHICLE)).body
      await call('POST', `/v1/vehicles/${vehicle.id}/fuel-readings`, { percent: 15, ...MOAB })
      const { alert } = (await stream.next((m) => m.type === 'alert.created', 15_000)) as { alert: { id: string } }
      await call('POST', `/v1/vehicles/${vehicle.id}/fuel-readings`, { percent: 90, ...MOAB })
      await stream.next((m) => m.type === 'alert.resolved' && m.alertId === alert.id, 15_000)
      const text = await scrape()
      assert.equal(value(text, 'pam_alerts_changed_total', { kind: 'fuel_low', change: 'created' }), 1)
      assert.equal(value(text, 'pam_alerts_changed_total', { kind: 'fuel_low', change: 'resolved' }), 1)
      // The parser folds a histogram into one family: its count is read from the text.
      const count = Number(/^pam_write_to_alert_seconds_count (\d+)$/m.exec(text)?.[1])
      const sum = Number(/^pam_write_to_alert_seconds_sum (\S+)$/m.exec(text)?.[1])
      assert.equal(count, 1)
      assert.ok(sum > 0 && sum < 15, `write→alert ${sum} s`)
    } finally {
      stream.close()
    }
  })

  it('counts a finished sweep by monitor and outcome', async () => {
    await stack.producer.enqueue('monitor.budget.sweep', {})
    const ok = await eventually(
      async () => value(await scrape(), 'pam_monitor_runs_total', { monitor: 'budget', outcome: 'ok' }),
      30_000,
      'the budget sweep to be counted',
    )
    assert.equal(ok, 1)
  })
})
