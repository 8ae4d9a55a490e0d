import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { evaluateFuel, type FuelVehicle } from '../../src/monitoring/monitors/fuel/rule.js'
import { monitorNamed } from '../../src/monitoring/registry.js'
import { learnedStep } from '../../src/monitoring/thresholds/threshold-learning.js'
import {
  explainEvaluation,
  resolveThresholds,
  type StoredThreshold,
  thresholdProblems,
  tunedFor,
} from '../../src/monitoring/thresholds/traveller-thresholds.js'
import { BUDGET, FUEL } from '../helpers/default-thresholds.js'

const fuelTunable = monitorNamed('fuel')?.tunable ?? []
const budgetTunable = monitorNamed('budget')?.tunable ?? []
const at = '2026-12-01T00:00:00.000Z'
const row = (name: string, value: number | null, source: StoredThreshold['source'], reason: string | null = null) => ({
  name,
  value,
  source,
  reason,
  changedAt: at,
})

describe('a traveller’s thresholds', () => {
  it('are the defaults with no row, their own or learned value otherwise, back to the default after a reset', () => {
    const none = resolveThresholds(FUEL, fuelTunable, [])
    assert.deepEqual(
      none.map((t) => [t.name, t.value, t.source, t.min, t.max, t.step]),
      [
        ['mediumBelowPercent', 20, 'default', 10, 50, 5],
        ['highBelowPercent', 10, 'default', 5, 25, 5],
      ],
    )
    const mine = resolveThresholds(FUEL, fuelTunable, [
      row('mediumBelowPercent', 15, 'learned', 'you marked three alerts at 20 % not useful'),
      row('highBelowPercent', null, 'default'),
    ])
    assert.deepEqual(
      mine.map((t) => [t.value, t.source, t.reason]),
      [
        [15, 'learned', 'you marked three alerts at 20 % not useful'],
        [10, 'default', null],
      ],
    )
  })

  it('are held within the bounds the monitor declares now', () => {
    const [medium] = resolveThresholds(FUEL, fuelTunable, [row('mediumBelowPercent', 80, 'own')])
    assert.equal(medium?.value, 50)
  })

  it('refuse values out of bounds or out of order, naming the threshold', () => {
    assert.deepEqual(thresholdProblems(fuelTunable, new Map([['mediumBelowPercent', 60]])), [
      { name: 'mediumBelowPercent', problem: 'must be between 10 and 50' },
    ])
    assert.deepEqual(
      thresholdProblems(
        fuelTunable,
        new Map([
          ['mediumBelowPercent', 15],
          ['highBelowPercent', 15],
        ]),
      ),
      [{ name: 'highBelowPercent', problem: 'must be below mediumBelowPercent (15)' }],
    )
    assert.deepEqual(
      thresholdProblems(
        budgetTunable,
        new Map([
          ['highRatio', 0.9],
          ['urgentRatio', 0.85],
        ]),
      ),
      [{ name: 'urgentRatio', problem: 'must be above highRatio (0.9)' }],
    )
  })
})

describe('learning from verdicts', () => {
  const fuelNow = (stored: StoredThreshold[]) => resolveThresholds(FUEL, fuelTunable, stored)

  it('moves the lower priority’s threshold one declared step after three not-useful verdicts, and says why', () => {
    assert.equal(learnedStep(fuelTunable, fuelNow([]), 'mediumBelowPercent', 2), undefined)
    assert.deepEqual(learnedStep(fuelTunable, fuelNow([]), 'mediumBelowPercent', 3), {
      value: 15,
      reason: 'you marked three alerts at 20 % not useful',
    })
    assert.deepEqual(learnedStep(budgetTunable, resolveThresholds(BUDGET, budgetTunable, []), 'highRatio', 3), {
      value: 0.85,
      reason: 'you marked three alerts at 80 % not useful',
    })
  })

  it('never past the bounds nor the next priority’s threshold, never the last alarm, never over the traveller’s own value', () => {
    const learned = fuelNow([row('mediumBelowPercent', 15, 'learned')])
    assert.equal(
      learnedStep(fuelTunable, learned, 'mediumBelowPercent', 3),
      undefined,
      '10 would meet the high threshold',
    )
    const lowHigh = fuelNow([row('mediumBelowPercent', 10, 'learned'), row('highBelowPercent', 5, 'own')])
    assert.equal(learnedStep(fuelTunable, lowHigh, 'mediumBelowPercent', 3), undefined, '5 is below the bound 10')
    assert.equal(learnedStep(fuelTunable, fuelNow([]), 'highBelowPercent', 5), undefined)
    assert.equal(
      learnedStep(fuelTunable, fuelNow([row('mediumBelowPercent', 30, 'own')]), 'mediumBelowPercent', 9),
      undefined,
    )
    const budgetTop = resolveThresholds(BUDGET, budgetTunable, [row('highRatio', 0.9, 'learned')])
    assert.equal(
      learnedStep(budgetTunable, budgetTop, 'highRatio', 3),
      undefined,
      '0.95 would meet the urgent threshold',
    )
  })
})

describe('an alert at a traveller’s threshold', () => {
  const van = (percent: number): FuelVehicle => ({
    id: 'v1',
    name: 'Campervan',
    fuelCapacityL: 80,
    consumptionLPer100Km: 12.5,
    reading: { percent, lat: null, lon: null, observedAt: at },
  })

  it('is judged by their value and explains it in its data and body', () => {
    const snapshot = {
      vehicles: [van(17)],
      trip: null,
      openConditions: [],
      thresholds: [row('mediumBelowPercent', 15, 'learned', 'you marked three alerts at 20 % not useful')],
    }
    const tuned = tunedFor(FUEL, fuelTunable, snapshot)
    assert.deepEqual(explainEvaluation(evaluateFuel(snapshot, new Map(), tuned.values), tuned.resolved).drafts, [])
    const low = { ...snapshot, vehicles: [van(12)] }
    const [draft] = explainEvaluation(evaluateFuel(low, new Map(), tuned.values), tuned.resolved).drafts
    assert.equal(draft?.data.threshold, 15)
    assert.equal(draft?.data.thresholdSource, 'learned')
    assert.equal(draft?.data.thresholdReason, 'you marked three alerts at 20 % not useful')
    assert.match(draft?.body ?? '', /We alert you at 15 % because you marked three alerts at 20 % not useful\.$/)
  })

  it('at the default says so and adds nothing to the body', () => {
    const snapshot = { vehicles: [van(12)], trip: null, openConditions: [], thresholds: [] }
    const tuned = tunedFor(FUEL, fuelTunable, snapshot)
    const plain = evaluateFuel(snapshot, new Map(), FUEL).drafts[0]
    const [draft] = explainEvaluation(evaluateFuel(snapshot, new Map(), tuned.values), tuned.resolved).drafts
    assert.equal(draft?.body, plain?.body)
    assert.equal(draft?.data.thresholdSource, 'default')
    assert.equal(draft?.data.thresholdReason, null)
  })
})
