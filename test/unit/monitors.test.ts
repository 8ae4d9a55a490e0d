import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type BudgetState, evaluateBudgets } from '../../src/monitoring/monitors/budget/rule.js'
import {
  destinationReach,
  evaluateFuel,
  type FuelThresholds,
  type FuelTrip,
  type FuelVehicle,
  rangeKm,
  stationSearches,
} from '../../src/monitoring/monitors/fuel/rule.js'
import { budgetPeriod } from '../../src/travellers/budgets/budget-period.js'
import { BUDGET, FUEL } from '../helpers/default-thresholds.js'

const van = (
  percent: number | null,
  position: { lat: number | null; lon: number | null } = { lat: 38.57, lon: -109.55 },
): FuelVehicle => ({
  id: 'v1',
  name: 'Campervan',
  fuelCapacityL: 80,
  consumptionLPer100Km: 12.5,
  reading: percent === null ? null : { percent, ...position, observedAt: '2026-11-23T10:00:00.000Z' },
})

describe('fuel monitor', () => {
  for (const [percent, expected] of [
    [100, undefined],
    [20, undefined],
    [19.99, 'medium'],
    [15, 'medium'],
    [10, 'medium'],
    [9.99, 'high'],
    [0, 'high'],
  ] as const) {
    it(`${percent} % → ${expected ?? 'no alert (the condition clears)'}`, () => {
      const result = evaluateFuel(
        { vehicles: [van(percent)], trip: null, openConditions: [] },
        new Map([['v1', []]]),
        FUEL,
      )
      assert.deepEqual(result.conditions, ['fuel:v1'])
      assert.equal(result.drafts[0]?.priority, expected)
      if (expected) assert.equal(result.drafts[0]?.data.threshold, expected === 'high' ? 10 : 20)
    })
  }

  it('computes the range from capacity and consumption', () => {
    assert.equal(rangeKm(van(15), 15), 96) // 80 L × 15 % = 12 L at 12.5 L/100 km
  })

  it('lists up to three nearest stations within min(range, 50 km), nearest first', () => {
    const at = { lat: 38.57, lon: -109.55 }
    const stations = [
      { name: 'Far', lat: 39.5, lon: -109.55 }, // ~103 km: out of reach
      { name: 'Third', lat: 38.7, lon: -109.55 },
      { name: 'First', lat: 38.58, lon: -109.55 },
      { name: 'Second', lat: 38.6, lon: -109.55 },
      { name: 'Fourth', lat: 38.8, lon: -109.55 },
    ]
    const result = evaluateFuel(
      { vehicles: [van(15, at)], trip: null, openConditions: [] },
      new Map([['v1', stations]]),
      FUEL,
    )
    const listed = result.drafts[0]?.data.stations as { name: string; distanceKm: number }[]
    assert.deepEqual(
      listed.map((s) => s.name),
      ['First', 'Second', 'Third'],
    )
    assert.ok(listed.every((s) => s.distanceKm <= 50))
    assert.deepEqual(stationSearches({ vehicles: [van(15, at)], trip: null, openConditions: [] }, FUEL), [
      { vehicleId: 'v1', at, radiusKm: 50 },
    ])
    assert.equal(stationSearches({ vehicles: [van(5, at)], trip: null, openConditions: [] }, FUEL)[0]?.radiusKm, 32)
  })

  it('still alerts when stations are unavailable, and says so', () => {
    const result = evaluateFuel(
      { vehicles: [van(8)], trip: null, openConditions: [] },
      new Map([['v1', 'unavailable']]),
      FUEL,
    )
    assert.equal(result.drafts[0]?.data.stationsUnavailable, true)
    assert.deepEqual(result.drafts[0]?.data.stations, [])
    assert.match(result.drafts[0]?.body ?? '', /could not be looked up/)
  })

  it('evaluates a vehicle without readings, and conditions of alerts still open', () => {
    const result = evaluateFuel({ vehicles: [van(null)], trip: null, openConditions: ['fuel:gone'] }, new Map(), FUEL)
    assert.deepEqual(result.conditions.sort(), ['fuel:gone', 'fuel:v1'])
    assert.deepEqual(result.drafts, [])
  })
})

describe('fuel monitor on an active trip', () => {
  const at = { lat: 38.57, lon: -109.55 }
  // 1° of latitude is 111.195 km on PAM's sphere: a destination `km` due north of the van.
  const tripTo = (km: number): FuelTrip => ({
    id: 't1',
    name: 'Canyons',
    destination: { name: 'Moab', lat: at.lat + km / 111.195, lon: at.lon },
  })
  const evaluate = (percent: number, trip: FuelTrip | null, thresholds: FuelThresholds = FUEL) =>
    evaluateFuel({ vehicles: [van(percent, at)], trip, openConditions: [] }, new Map([['v1', []]]), thresholds)

  it('takes the road distance as great-circle × road factor, and needs the margin on top', () => {
    const reach = destinationReach(at, tripTo(200), FUEL)
    assert.equal(reach?.name, 'Moab')
    assert.ok(Math.abs((reach?.distanceKm ?? 0) - 260) < 0.2, `road distance ${reach?.distanceKm}`)
    assert.ok(Math.abs((reach?.neededKm ?? 0) - 299) < 0.2, `needed ${reach?.neededKm}`)
    assert.equal(destinationReach({ lat: null, lon: null }, tripTo(200), FUEL), null)
    assert.equal(destinationReach(at, null, FUEL), null)
  })

  it('opens a medium alert at 40 % when the range (256 km) does not reach the destination', () => {
    const result = evaluate(40, tripTo(200))
    const draft = result.drafts[0]
    assert.equal(draft?.priority, 'medium')
    assert.match(draft?.title ?? '', /won't reach Moab/)
    assert.match(draft?.body ?? '', /^Range 256 km, 260 km to Moab\./)
    const destination = draft?.data.destination as {
      tripId: string
      name: string
      distanceKm: number
      reachable: boolean
    }
    assert.equal(destination.tripId, 't1')
    assert.equal(destination.name, 'Moab')
    assert.equal(destination.reachable, false)
    // The % that would reach it with the margin: 299 km × 12.5 L/100 km of 80 L.
    assert.ok(Math.abs((draft?.data.threshold ?? 0) - 46.8) < 0.2, `threshold ${draft?.data.threshold}`)
    assert.deepEqual(stationSearches({ vehicles: [van(40, at)], trip: tripTo(200), openConditions: [] }, FUEL), [
      { vehicleId: 'v1', at, radiusKm: 50 },
    ])
  })

  it('opens nothing when the range reaches the destination with the margin', () => {
    assert.deepEqual(evaluate(40, tripTo(100)).drafts, [])
    assert.deepEqual(stationSearches({ vehicles: [van(40, at)], trip: tripTo(100), openConditions: [] }, FUEL), [])
  })

  it('counts the margin: 240 km by road reaches with 256 km of range only without it', () => {
    assert.equal(evaluate(40, tripTo(185)).drafts[0]?.priority, 'medium')
    assert.deepEqual(evaluate(40, tripTo(185), { ...FUEL, tripMarginPercent: 0 }).drafts, [])
  })

  it('counts the road factor: 200 km as the crow flies reaches only on straight roads', () => {
    assert.deepEqual(evaluate(40, tripTo(200), { ...FUEL, roadFactor: 1, tripMarginPercent: 0 }).drafts, [])
    assert.equal(evaluate(40, tripTo(200), { ...FUEL, tripMarginPercent: 0 }).drafts.length, 1)
  })

  it('keeps the % rule: low fuel with the destination in reach alerts as before, saying the distance', () => {
    const draft = evaluate(15, tripTo(20)).drafts[0]
    assert.equal(draft?.priority, 'medium')
    assert.equal(draft?.title, 'Fuel at 15 % in Campervan')
    assert.equal(draft?.data.threshold, 20)
    assert.equal((draft?.data.destination as { reachable?: boolean } | undefined)?.reachable, true)
    assert.equal(evaluate(5, tripTo(200)).drafts[0]?.priority, 'high')
  })

  it('leaves a destination past a full tank (640 km) to the % rule: nothing at 100 %, the % threshold below it', () => {
    assert.deepEqual(evaluate(100, tripTo(600)).drafts, [])
    assert.deepEqual(evaluate(40, tripTo(600)).drafts, [])
    const low = evaluate(15, tripTo(600)).drafts[0]
    assert.equal(low?.priority, 'medium')
    assert.equal(low?.data.threshold, 20)
  })

  it('ignores the trip without a position to measure from', () => {
    const result = evaluateFuel(
      { vehicles: [van(40, { lat: null, lon: null })], trip: tripTo(500), openConditions: [] },
      new Map(),
      FUEL,
    )
    assert.deepEqual(result.drafts, [])
  })
})

describe('budget period', () => {
  for (const [label, now, zone, kind, start, end, daysLeft] of [
    ['a month, UTC', '2026-11-23T12:00:00Z', 'UTC', 'month', '2026-11-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z', 8],
    [
      'last hour of November in Denver',
      '2026-12-01T06:30:00Z',
      'America/Denver',
      'month',
      '2026-11-01T00:00:00.000-06:00',
      '2026-12-01T00:00:00.000-07:00',
      1,
    ],
    [
      'already December in Berlin',
      '2026-11-30T23:30:00Z',
      'Europe/Berlin',
      'month',
      '2026-12-01T00:00:00.000+01:00',
      '2027-01-01T00:00:00.000+01:00',
      31,
    ],
    [
      'February in a leap year',
      '2028-02-29T12:00:00Z',
      'UTC',
      'month',
      '2028-02-01T00:00:00.000Z',
      '2028-03-01T00:00:00.000Z',
      1,
    ],
    [
      'weeks start on Monday',
      '2026-11-22T12:00:00Z',
      'UTC',
      'week',
      '2026-11-16T00:00:00.000Z',
      '2026-11-23T00:00:00.000Z',
      1,
    ],
    [
      'Sunday in UTC is Monday in Tokyo',
      '2026-11-22T20:00:00Z',
      'Asia/Tokyo',
      'week',
      '2026-11-23T00:00:00.000+09:00',
      '2026-11-30T00:00:00.000+09:00',
      7,
    ],
  ] as const) {
    it(label, () => {
      assert.deepEqual(budgetPeriod(kind, zone, new Date(now)), { start, end, daysLeft })
    })
  }
})

describe('budget monitor', () => {
  const period = budgetPeriod('month', 'UTC', new Date('2026-11-23T12:00:00Z'))
  const budget = (spent: number): BudgetState => ({
    id: 'b1',
    category: 'food',
    amount: 500,
    currency: 'USD',
    period,
    spent,
    lastSpentAt: '2026-11-22T18:00:00.000Z',
    topCategories: [{ category: 'food', spent }],
  })
  for (const [spent, expected] of [
    [0, undefined],
    [399.99, undefined],
    [400, 'high'],
    [474.99, 'high'],
    [475, 'urgent'],
    [600, 'urgent'],
  ] as const) {
    it(`${spent} of 500 → ${expected ?? 'no alert'}`, () => {
      const result = evaluateBudgets(
        { budgets: [budget(spent)], openConditions: [] },
        new Date('2026-11-23T12:00:00Z'),
        BUDGET,
      )
      assert.equal(result.drafts[0]?.priority, expected)
    })
  }

  it('carries the status, the top categories and the period, and expires with the period', () => {
    const [draft] = evaluateBudgets(
      { budgets: [budget(410)], openConditions: [] },
      new Date('2026-11-23T12:00:00Z'),
      BUDGET,
    ).drafts
    assert.equal(draft?.data.remaining, 90)
    assert.equal(draft?.data.daysLeft, 8)
    assert.equal(draft?.data.dailyAllowance, 11.25)
    assert.equal(draft?.data.periodStart, '2026-11-01T00:00:00.000Z')
    assert.equal(draft?.expiresAt, '2026-12-01T00:00:00.000Z')
    assert.equal(draft?.variant, 'high:2026-11-01T00:00:00.000Z', 'a new period is a new alert')
    assert.deepEqual(draft?.data.topCategories, [{ category: 'food', spent: 410 }])
  })
})
