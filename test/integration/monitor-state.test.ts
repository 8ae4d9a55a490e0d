import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { recordEmailSent } from '../../src/delivery/email-sends-repository.js'
import { type AlertStack, startAlertStack } from '../helpers/alert-stack.js'
import { type Client, VEHICLE } from '../helpers/api.js'
import { followConfirmation } from '../helpers/confirm-address.js'
import { startFakeOverpass } from '../helpers/fake-overpass.js'
import { eventually, inBothModes } from '../helpers/harness.js'
import { type SmtpPeer, startSmtpPeer } from '../helpers/smtp-peer.js'
import type { StreamClient } from '../helpers/stream.js'

// biome-ignore lint/suspicious/noExplicitAny: answers arrive as JSON and are read field by field
type Json = Record<string, any>

const START = { lat: 38.57, lon: -109.55 }
/** 1° of latitude is 111.195 km on PAM's sphere: a destination `km` due north of the start. */
const northBy = (km: number) => ({ lat: START.lat + km / 111.195, lon: START.lon })
const EMAIL_CAP = 3

inBothModes('why (not): GET /v1/monitors/:kind/state, and trip-aware fuel', (mode) => {
  let overpass: Awaited<ReturnType<typeof startFakeOverpass>>
  let smtp: SmtpPeer
  let stack: AlertStack

  before(async () => {
    overpass = await startFakeOverpass()
    smtp = await startSmtpPeer()
    stack = await startAlertStack(mode, {
      PLACES_API_URL: overpass.url,
      SMTP_URL: smtp.url,
      EMAIL_ALERTS_PER_HOUR: String(EMAIL_CAP),
    })
  })
  after(async () => {
    await stack?.close()
    await smtp?.stop()
    await overpass?.close()
  })

  const stateOf = async (call: Client, kind: string, subject: string) => {
    const response = await call('GET', `/v1/monitors/${kind}/state?subject=${subject}`)
    assert.equal(response.status, 200, JSON.stringify(response.body))
    return response.body as Json
  }
  const channel = (state: Json, name: string) => state.channels.find((c: Json) => c.channel === name)

  /** A vehicle whose reading at `percent` the worker has evaluated; its alert if one was opened. */
  async function evaluatedVehicle(call: Client, stream: StreamClient, percent: number) {
    const vehicle = (await call('POST', '/v1/vehicles', VEHICLE)).body
    const from = stream.messages.length
    await call('POST', `/v1/vehicles/${vehicle.id}/fuel-readings`, { percent, ...START })
    if (percent >= 20) return { vehicle, alert: undefined }
    const created = await stream.next((m) => m.type === 'alert.created' && stream.messages.indexOf(m) >= from, 15_000)
    return { vehicle, alert: created.alert as Json }
  }

  async function settings(call: Client, change: Json) {
    const current = (await call('GET', '/v1/me/notification-settings')).body
    const response = await call('PUT', '/v1/me/notification-settings', { ...current, ...change })
    assert.equal(response.status, 200, JSON.stringify(response.body))
  }

  async function confirmedEmail(call: Client, id: string) {
    const address = `${id.slice(0, 8)}@example.org`
    await settings(call, { email: { address, enabled: true, minPriority: 'medium' } })
    await followConfirmation(stack.app, smtp, address)
    return address
  }

  it('why: a vehicle with an alert shows its inputs, thresholds, result, open alert and last evaluation', async () => {
    const { call, stream } = await stack.traveller()
    try {
      const { vehicle, alert } = await evaluatedVehicle(call, stream, 15)
      // The vehicle's evaluation may have read the reading after its mark: the reading's mark then
      // waits for one more (a newer write keeps its mark), done within seconds.
      const state = await eventually(async () => {
        const s = await stateOf(call, 'fuel_low', vehicle.id)
        return s.lastEvaluation.pendingSince === null ? s : undefined
      }, 15_000)
      assert.equal(state.kind, 'fuel_low')
      assert.equal(state.monitor, 'fuel')
      const reading = state.inputs.find((input: Json) => input.name === 'reading')
      assert.equal(reading.value.percent, 15)
      assert.equal(reading.at, alert?.data.observedAt)
      assert.equal(state.inputs.find((input: Json) => input.name === 'vehicle').value.fuelCapacityL, 80)
      assert.equal(state.inputs.find((input: Json) => input.name === 'activeTrip').value, null)
      assert.deepEqual(
        state.thresholds.find((t: Json) => t.name === 'mediumBelowPercent'),
        { name: 'mediumBelowPercent', value: 20, source: 'default' },
      )
      assert.deepEqual(state.result, { condition: true, priority: 'medium', title: alert?.title, threshold: 20 })
      assert.equal(state.openAlert.id, alert?.id)
      assert.ok(Date.parse(state.lastEvaluation.evaluatedAt) >= Date.parse(reading.at))
      assert.equal(state.lastEvaluation.ruleVersion, 2)
      // The defaults: email from high (and no address), push from medium (and no browser subscribed).
      assert.deepEqual(
        [channel(state, 'email').decision, channel(state, 'email').reason],
        ['suppress', 'below minimum priority'],
      )
      assert.deepEqual(
        [channel(state, 'push').decision, channel(state, 'push').reason],
        ['suppress', 'no subscription'],
      )
      const recorded = await eventually(async () => {
        const again = await stateOf(call, 'fuel_low', vehicle.id)
        return channel(again, 'push').delivery?.status === 'suppressed' ? again : undefined
      })
      assert.equal(channel(recorded, 'push').delivery.reason, 'no subscription')

      // Dismissed, the alert still stands for the condition: why no push now? It was dismissed.
      assert.equal((await call('PATCH', `/v1/alerts/${alert?.id}`, { dismissed: true })).status, 200)
      const dismissed = await stateOf(call, 'fuel_low', vehicle.id)
      assert.equal(dismissed.openAlert.id, alert?.id)
      assert.ok(dismissed.openAlert.dismissedAt)
      assert.deepEqual(
        [channel(dismissed, 'push').decision, channel(dismissed, 'push').reason],
        ['suppress', 'dismissed'],
      )
    } finally {
      stream.close()
    }
  })

  it('why not: nothing read low, nothing to deliver', async () => {
    const { call, stream } = await stack.traveller()
    try {
      const { vehicle } = await evaluatedVehicle(call, stream, 60)
      const state = await eventually(async () => {
        const s = await stateOf(call, 'fuel_low', vehicle.id)
        return s.lastEvaluation.evaluatedAt && !s.lastEvaluation.pendingSince ? s : undefined
      }, 15_000)
      assert.deepEqual(state.result, { condition: false, priority: null, title: null, threshold: null })
      assert.equal(state.openAlert, null)
      for (const name of ['email', 'push']) {
        assert.deepEqual(
          [channel(state, name).decision, channel(state, name).reason],
          [null, 'no condition: nothing to deliver'],
        )
      }
    } finally {
      stream.close()
    }
  })

  it('why not: an unconfirmed address, quiet hours until their end, the hourly email cap', async () => {
    const { id, call, stream } = await stack.traveller()
    try {
      const { vehicle } = await evaluatedVehicle(call, stream, 15)
      await settings(call, {
        email: { address: `${id.slice(0, 8)}@example.org`, enabled: true, minPriority: 'medium' },
      })
      let state = await stateOf(call, 'fuel_low', vehicle.id)
      assert.deepEqual(
        [channel(state, 'email').decision, channel(state, 'email').reason],
        ['suppress', 'address not confirmed'],
      )

      const address = await confirmedEmail(call, id)
      // A window around now in UTC (the traveller's zone at Moab is Denver's: give the hours there).
      const local = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'America/Denver',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      })
      const at = (offsetMs: number) => local.format(new Date(Date.now() + offsetMs))
      await settings(call, { quietHours: { start: at(-3_600_000), end: at(3_600_000) } })
      state = await stateOf(call, 'fuel_low', vehicle.id)
      assert.deepEqual([channel(state, 'email').decision, channel(state, 'email').reason], ['defer', 'quiet hours'])
      const until = Date.parse(channel(state, 'email').until)
      assert.ok(
        Math.abs(until - (Date.now() + 3_600_000)) < 120_000,
        `quiet hours end at ${channel(state, 'email').until}`,
      )

      await settings(call, { quietHours: null })
      for (let i = 0; i < EMAIL_CAP; i++) {
        await recordEmailSent(stack.harness.deps.db, { userId: id, address, kind: 'alert', at: new Date() })
      }
      state = await stateOf(call, 'fuel_low', vehicle.id)
      assert.deepEqual(
        [channel(state, 'email').decision, channel(state, 'email').reason],
        ['defer', 'hourly email limit'],
      )
    } finally {
      stream.close()
    }
  })

  it('why for a budget and a maintenance item: their inputs and the verdicts their rules give', async () => {
    const { call, stream } = await stack.traveller()
    try {
      const vehicle = (await call('POST', '/v1/vehicles', { ...VEHICLE, odometerKm: 60_000 })).body
      const item = (
        await call('POST', `/v1/vehicles/${vehicle.id}/maintenance-items`, {
          name: 'Oil change',
          intervalKm: 5_000,
          lastDoneKm: 54_000,
          lastDoneAt: new Date(Date.now() - 100 * 86_400_000).toISOString(),
        })
      ).body
      const alert = (await stream.next((m) => m.type === 'alert.created', 15_000)).alert as Json
      const itemState = await stateOf(call, 'maintenance_due', item.id)
      assert.equal(itemState.openAlert.id, alert.id)
      assert.equal(itemState.result.priority, 'high')
      assert.equal(itemState.inputs.find((i: Json) => i.name === 'vehicle').value.odometerKm, 60_000)
      assert.deepEqual(
        itemState.thresholds.map((t: Json) => [t.name, t.source]),
        [
          ['dueWithinDays', 'default'],
          ['dueWithinKm', 'default'],
        ],
      )

      const budget = (
        await call('POST', '/v1/budgets', { category: null, amount: 100, currency: 'USD', period: 'month' })
      ).body
      const spentAt = new Date().toISOString()
      await call('POST', '/v1/expenses', { amount: 50, currency: 'USD', category: 'food', spentAt })
      const budgetState = await eventually(async () => {
        const s = await stateOf(call, 'budget_threshold', budget.id)
        return s.lastEvaluation.pendingSince === null && s.lastEvaluation.evaluatedAt ? s : undefined
      }, 15_000)
      const spending = budgetState.inputs.find((i: Json) => i.name === 'spending')
      assert.equal(spending.value.spent, 50)
      assert.equal(Date.parse(spending.at), Date.parse(spentAt))
      assert.equal(budgetState.result.condition, false, 'half of the budget is under the 80 % threshold')
      assert.equal((await call('GET', `/v1/monitors/maintenance_due/state?subject=${vehicle.id}`)).status, 404)
    } finally {
      stream.close()
    }
  })

  it('answers 404 for a subject not yours, 400 for a kind not explained and for a missing subject', async () => {
    const owner = await stack.traveller()
    const other = await stack.traveller()
    try {
      const vehicle = (await owner.call('POST', '/v1/vehicles', VEHICLE)).body
      const foreign = await other.call('GET', `/v1/monitors/fuel_low/state?subject=${vehicle.id}`)
      assert.equal(foreign.status, 404)
      assert.equal(foreign.body.error, 'not_found')
      assert.match(foreign.body.message, /vehicle/)
      const budget = await owner.call('GET', `/v1/monitors/budget_threshold/state?subject=${vehicle.id}`)
      assert.equal(budget.status, 404, 'a vehicle is not a budget')
      const missing = await owner.call('GET', '/v1/monitors/fuel_low/state')
      assert.equal(missing.status, 400)
      assert.ok(
        missing.body.details.some((d: Json) => /subject/.test(d.field)),
        JSON.stringify(missing.body),
      )
      for (const kind of ['tide_high', 'weather_window']) {
        const refused = await owner.call('GET', `/v1/monitors/${kind}/state?subject=${vehicle.id}`)
        assert.equal(refused.status, 400, kind)
        assert.ok(
          refused.body.details.some((d: Json) => /kind/.test(d.field)),
          JSON.stringify(refused.body),
        )
      }
    } finally {
      owner.stream.close()
      other.stream.close()
    }
  })

  /** A traveller's vehicle at 40 % (evaluated: no alert), then a trip to Moab `km` north set active. */
  async function onTripTo(km: number) {
    const traveller = await stack.traveller()
    const { call, stream } = traveller
    const { vehicle } = await evaluatedVehicle(call, stream, 40)
    const trip = await call('POST', '/v1/trips', {
      name: 'Canyons',
      destination: { name: 'Moab', ...northBy(km) },
      departFrom: new Date().toISOString().slice(0, 10),
      departUntil: new Date(Date.now() + 86_400_000).toISOString().slice(0, 10),
      days: 3,
    })
    assert.equal(trip.status, 201, JSON.stringify(trip.body))
    // Setting the trip active is a write to trips: its trigger marks fuel for evaluation.
    assert.equal((await call('PATCH', `/v1/trips/${trip.body.id}`, { status: 'active' })).status, 200)
    return { ...traveller, vehicleId: vehicle.id as string }
  }

  it('trip-aware fuel: an active trip out of range opens fuel_low at 40 %, in range nothing', async () => {
    // 256 km of range; 200 km north is 260 km by road (×1.3), 60 km north is 78 km (90 km with the margin).
    const far = await onTripTo(200)
    const near = await onTripTo(60)
    try {
      const created = await far.stream.next(
        (m) => m.type === 'alert.created' && (m.alert as Json).kind === 'fuel_low',
        15_000,
      )
      const alert = created.alert as Json
      assert.equal(alert.priority, 'medium')
      assert.match(alert.title, /won't reach Moab/)
      assert.match(alert.body, /^Range 256 km, 260 km to Moab\./)
      assert.equal(alert.data.vehicleId, far.vehicleId)
      assert.equal(alert.data.percent, 40)
      assert.equal(alert.data.destination.name, 'Moab')
      assert.ok(Math.abs(alert.data.destination.distanceKm - 260) < 0.5, `${alert.data.destination.distanceKm} km`)
      assert.equal(alert.data.destination.reachable, false)
      assert.ok(alert.data.stations.length > 0, 'stations from the places provider')

      const state = await eventually(async () => {
        const s = await stateOf(near.call, 'fuel_low', near.vehicleId)
        return s.lastEvaluation.pendingSince === null ? s : undefined
      }, 15_000)
      assert.equal(state.inputs.find((i: Json) => i.name === 'activeTrip').value.destination.name, 'Moab')
      assert.equal(state.result.condition, false)
      assert.deepEqual((await near.call('GET', '/v1/alerts')).body.items, [])
      assert.ok(!near.stream.messages.some((m) => m.type === 'alert.created'))
    } finally {
      far.stream.close()
      near.stream.close()
    }
  })
})
