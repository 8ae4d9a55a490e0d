import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { type AlertStack, startAlertStack } from '../helpers/alert-stack.js'
import { type Client, VEHICLE } from '../helpers/api.js'
import { inBothModes } from '../helpers/harness.js'
import type { StreamClient } from '../helpers/stream.js'

// biome-ignore lint/suspicious/noExplicitAny: alerts arrive as JSON and are read field by field
type Message = Record<string, any>

inBothModes('thresholds a traveller sees, sets, and teaches', (mode) => {
  let stack: AlertStack

  before(async () => {
    stack = await startAlertStack(mode, {})
  })
  after(async () => {
    await stack.close()
  })

  /** A traveller's van and the readings that open and close its fuel alerts, each waited for on the socket. */
  function van(call: Client, stream: StreamClient, vehicleId: string) {
    const seen = new Set<string>()
    return {
      /** A low reading: the alert it opens (one not seen before). */
      async low(percent: number): Promise<Message> {
        await call('POST', `/v1/vehicles/${vehicleId}/fuel-readings`, { percent })
        const created = await stream.next(
          (m) =>
            m.type === 'alert.created' &&
            !seen.has((m.alert as Message).id) &&
            (m.alert as Message).data.percent === percent,
          15_000,
        )
        const alert = created.alert as Message
        seen.add(alert.id)
        return alert
      },
      /** A reading that clears the alert. */
      async refill(alert: Message) {
        await call('POST', `/v1/vehicles/${vehicleId}/fuel-readings`, { percent: 60 })
        await stream.next((m) => m.type === 'alert.resolved' && m.alertId === alert.id, 15_000)
      },
    }
  }
  const fuelThreshold = async (call: Client, name: string) => {
    const monitors = (await call('GET', '/v1/me/monitors')).body.items as Message[]
    const fuel = monitors.find((m) => m.monitor === 'fuel')
    return (fuel?.thresholds as Message[] | undefined)?.find((t) => t.name === name) as Message
  }
  const notUseful = async (call: Client, alert: Message) =>
    assert.equal((await call('PATCH', `/v1/alerts/${alert.id}`, { feedback: 'not_useful' })).status, 200)

  it('lists every monitor’s thresholds with source and bounds; three not-useful alerts move one step, and no further', async () => {
    const { call, stream } = await stack.traveller()
    try {
      const listed = (await call('GET', '/v1/me/monitors')).body.items as Message[]
      assert.deepEqual(
        listed.map((m) => [
          m.monitor,
          m.thresholds.map((t: Message) => `${t.name} ${t.value} ${t.source} ${t.min}–${t.max}`),
        ]),
        [
          ['fuel', ['mediumBelowPercent 20 default 10–50', 'highBelowPercent 10 default 5–25']],
          ['budget', ['highRatio 0.8 default 0.5–0.95', 'urgentRatio 0.95 default 0.8–1.5']],
          ['weather', []],
          ['maintenance', []],
          ['context', []],
        ],
      )
      const vehicle = (await call('POST', '/v1/vehicles', VEHICLE)).body
      const fuel = van(call, stream, vehicle.id)
      let alert: Message = {}
      for (let n = 1; n <= 3; n++) {
        alert = await fuel.low(15)
        assert.deepEqual([alert.data.threshold, alert.data.thresholdSource], [20, 'default'])
        await notUseful(call, alert)
        if (n < 3) {
          assert.equal((await fuelThreshold(call, 'mediumBelowPercent')).value, 20, `after ${n}`)
          await fuel.refill(alert)
        }
      }
      const learned = await fuelThreshold(call, 'mediumBelowPercent')
      assert.deepEqual(
        [learned.value, learned.source, learned.reason],
        [15, 'learned', 'you marked three alerts at 20 % not useful'],
      )
      // Evaluated again at once: 15 % is no longer below the traveller's threshold.
      await stream.next((m) => m.type === 'alert.resolved' && m.alertId === alert.id, 15_000)
      // 'Why (not)' reads the same threshold, with its source.
      const why = (await call('GET', `/v1/monitors/fuel_low/state?subject=${vehicle.id}`)).body
      assert.deepEqual(
        why.thresholds.find((t: Message) => t.name === 'mediumBelowPercent'),
        { name: 'mediumBelowPercent', value: 15, source: 'learned' },
      )

      await call('POST', `/v1/vehicles/${vehicle.id}/fuel-readings`, { percent: 17 })
      const explained = await fuel.low(12)
      assert.equal(
        stream.messages.filter((m) => m.type === 'alert.created' && (m.alert as Message).data.percent === 17).length,
        0,
        '17 % alerts no one at 15 %',
      )
      assert.deepEqual(
        [explained.priority, explained.data.threshold, explained.data.thresholdSource, explained.data.thresholdReason],
        ['medium', 15, 'learned', 'you marked three alerts at 20 % not useful'],
      )
      assert.match(explained.body, /We alert you at 15 % because you marked three alerts at 20 % not useful\.$/)

      // Three more at 15 %: 10 % would meet the high threshold (10 %), so it stays.
      let last = explained
      for (let n = 1; n <= 3; n++) {
        if (n > 1) {
          await fuel.refill(last)
          last = await fuel.low(12)
        }
        await notUseful(call, last)
      }
      const stayed = await fuelThreshold(call, 'mediumBelowPercent')
      assert.deepEqual([stayed.value, stayed.source], [15, 'learned'])
      assert.equal((await fuelThreshold(call, 'highBelowPercent')).value, 10, 'the last alarm never learns')
      const counts = ((await call('GET', '/v1/me/monitors')).body.items as Message[])[0]?.feedback
      assert.deepEqual(counts, { useful: 0, notUseful: 6 })
    } finally {
      stream.close()
    }
  })

  it('a traveller’s own value wins over learning, and null goes back to the default', async () => {
    const { call, stream } = await stack.traveller()
    try {
      const set = await call('PATCH', '/v1/me/monitors', { fuel: { mediumBelowPercent: 30 } })
      assert.equal(set.status, 200, JSON.stringify(set.body))
      const own = (set.body.items as Message[])[0]?.thresholds[0]
      assert.deepEqual([own.name, own.value, own.source], ['mediumBelowPercent', 30, 'own'])

      const vehicle = (await call('POST', '/v1/vehicles', VEHICLE)).body
      const fuel = van(call, stream, vehicle.id)
      let alert: Message = {}
      for (let n = 1; n <= 3; n++) {
        if (n > 1) await fuel.refill(alert)
        alert = await fuel.low(25)
        assert.deepEqual([alert.data.threshold, alert.data.thresholdSource], [30, 'own'])
        await notUseful(call, alert)
      }
      assert.match(alert.body, /We alert you at 30 % because you set it\.$/)
      const still = await fuelThreshold(call, 'mediumBelowPercent')
      assert.deepEqual([still.value, still.source], [30, 'own'])

      const reset = await call('PATCH', '/v1/me/monitors', { fuel: { mediumBelowPercent: null } })
      assert.equal(reset.status, 200)
      const back = await fuelThreshold(call, 'mediumBelowPercent')
      assert.deepEqual([back.value, back.source, back.reason], [20, 'default', null])
      // The open alert at 25 % follows the default at once: 25 % is not below 20 %.
      await stream.next((m) => m.type === 'alert.resolved' && m.alertId === alert.id, 15_000)
      // The verdicts before the reset are not learned from again.
      const next = await fuel.low(15)
      await notUseful(call, next)
      assert.equal((await fuelThreshold(call, 'mediumBelowPercent')).source, 'default')
    } finally {
      stream.close()
    }
  })

  it('refuses values out of bounds or out of order, naming the field, and changes nothing', async () => {
    const { call, stream } = await stack.traveller()
    stream.close()
    const refusals: [unknown, string][] = [
      [{ fuel: { mediumBelowPercent: 60 } }, 'fuel.mediumBelowPercent'],
      [{ fuel: { mediumBelowPercent: '25' } }, 'fuel.mediumBelowPercent'],
      [{ fuel: { highBelowPercent: 25 } }, 'fuel.highBelowPercent'],
      [{ fuel: { mediumBelowPercent: 10 } }, 'fuel.mediumBelowPercent'],
      [{ budget: { urgentRatio: 0.8 } }, 'budget.urgentRatio'],
      [{ budget: { highRatio: 0.99 } }, 'budget.highRatio'],
      [{ fuel: { stationRadiusKm: 5 } }, 'fuel.stationRadiusKm'],
      [{ weather: { anything: 1 } }, 'weather'],
      [{ fuel: {} }, 'fuel'],
      [{}, 'body'],
    ]
    for (const [body, field] of refusals) {
      const refused = await call('PATCH', '/v1/me/monitors', body)
      assert.equal(refused.status, 400, JSON.stringify({ body, answer: refused.body }))
      assert.ok(
        (refused.body.details as Message[]).some((d) => d.field === field),
        `${JSON.stringify(body)}: ${JSON.stringify(refused.body)}`,
      )
    }
    const listed = (await call('GET', '/v1/me/monitors')).body.items as Message[]
    assert.ok(listed.every((m) => m.thresholds.every((t: Message) => t.source === 'default')))
  })
})
