import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type BriefingInputs, briefingRequest, buildDigest, templateBriefing } from '../../src/ai/briefing-digest.js'
import { briefingTextShape } from '../../src/ai/structured-text.js'

const NOW = new Date('2026-11-21T00:00:00Z')
const INPUTS: BriefingInputs = {
  period: '2026-11-21',
  budgets: [
    {
      id: 'b1',
      category: 'food',
      amount: 600,
      currency: 'USD',
      period: { start: '2026-11-01T00:00:00.000+00:00', end: '2026-12-01T00:00:00.000+00:00', daysLeft: 10 },
      spent: 480,
      lastSpentAt: null,
      topCategories: [],
    },
  ],
  nextTrip: {
    name: 'Moab',
    destination: 'Moab, UT',
    departFrom: '2026-11-25',
    departUntil: '2026-11-30',
    days: 4,
    window: { windowStart: '2026-11-26', windowEnd: '2026-11-29', optimalDeparture: '2026-11-26' },
  },
  maintenance: [{ name: 'oil change', itemId: 'secret-id', forecastDueAt: '2026-12-03T00:00:00Z', costEstimate: 90 }],
  fuelReadings: [
    [
      { vehicle: 'v', percent: 60 },
      { vehicle: 'v', percent: 18 },
      { vehicle: 'v', percent: 95 },
      { vehicle: 'v', percent: 40 },
      { vehicle: 'v', percent: 22 },
      { vehicle: 'v', percent: 90 },
    ],
  ],
}

describe('briefing digest', () => {
  it('is compact and deterministic: pace, clear window, forecast dates, refuel habit; no ids', () => {
    const digest = buildDigest(INPUTS, NOW)
    assert.deepEqual(digest, buildDigest(structuredClone(INPUTS), NOW), 'the same data, the same digest')
    assert.equal(digest.budgets[0]?.percentSpent, 80)
    // 80 % spent after 20 of 30 days: 120 % at this pace
    assert.equal(digest.budgets[0]?.percentAtPace, 120)
    assert.equal(digest.budgets[0]?.dailyAllowance, 12)
    assert.equal(digest.nextTrip?.clearWindow, '2026-11-26 to 2026-11-29, best departure 2026-11-26')
    assert.deepEqual(digest.maintenance, [{ name: 'oil change', forecastDueAt: '2026-12-03', costEstimate: 90 }])
    assert.deepEqual(digest.fuel, { readings: 6, refuels: 2, averageRefuelAtPercent: 20, lowestPercent: 18 })
    assert.ok(!JSON.stringify(digest).includes('secret-id'))
  })

  it('the template briefing says the same facts and passes the same checks as a model reply', () => {
    const text = templateBriefing(buildDigest(INPUTS, NOW))
    assert.equal(briefingTextShape.check(text).ok, true, JSON.stringify(briefingTextShape.check(text)))
    assert.equal(text.sections[0]?.title, 'Spending: 1 budget on pace to run over')
    assert.match(text.sections[2]?.body ?? '', /oil change due about 2026-12-03/)
    const empty = templateBriefing(
      buildDigest({ period: '2026-11-21', budgets: [], nextTrip: null, maintenance: [], fuelReadings: [] }, NOW),
    )
    assert.equal(briefingTextShape.check(empty).ok, true)
  })

  it('every briefing has the same instructions (cacheable); the prompt is the digest', () => {
    const a = briefingRequest('u1', buildDigest(INPUTS, NOW), { modelsAllowed: true, retriesLeft: false })
    const b = briefingRequest('u2', buildDigest({ ...INPUTS, budgets: [] }, NOW), {
      modelsAllowed: true,
      retriesLeft: false,
    })
    assert.equal(a.instructions, b.instructions)
    assert.notEqual(a.prompt, b.prompt)
    assert.ok(!a.prompt.includes('u1'), 'no user id in the prompt')
  })
})
