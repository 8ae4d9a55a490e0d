import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { evaluateContext, type Signal } from '../../src/monitoring/monitors/context/rule.js'
import { evaluateMaintenance, type MaintenanceItemState } from '../../src/monitoring/monitors/maintenance/rule.js'
import { evaluateWeather, type WeatherTrip } from '../../src/monitoring/monitors/weather/rule.js'
import type { ForecastDay } from '../../src/providers/weather/weather-provider.js'

const WEATHER = { maxPrecipitationPercent: 20, maxWindKmh: 40 }
const day = (date: string, overrides: Partial<ForecastDay> = {}): ForecastDay => ({
  date,
  weatherCode: 1,
  precipitationProbability: 10,
  windSpeedMax: 15,
  temperatureMax: 22,
  temperatureMin: 8,
  ...overrides,
})
const dates = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => `2026-12-${String(from + i).padStart(2, '0')}`)
const trip = (overrides: Partial<WeatherTrip> = {}): WeatherTrip => ({
  id: 't1',
  name: 'Moab',
  destination: { name: 'Moab', lat: 38.57, lon: -109.55 },
  departFrom: '2026-12-01',
  departUntil: '2026-12-10',
  days: 3,
  status: 'planned',
  ...overrides,
})
const weather = (forecast: ForecastDay[] | 'unavailable', t = trip(), openConditions: string[] = []) =>
  evaluateWeather({ trips: [t], openConditions }, new Map([[t.id, forecast]]), '2026-11-30', WEATHER)

describe('weather monitor', () => {
  it('2 clear days are no window; 3 are', () => {
    const cloudy = (d: string) => day(d, { weatherCode: 61 })
    assert.equal(weather([...dates(1, 2).map((d) => day(d)), cloudy('2026-12-03')]).drafts.length, 0)
    const three = weather([...dates(1, 3).map((d) => day(d)), cloudy('2026-12-04')]).drafts
    assert.equal(three.length, 1)
    assert.equal(three[0]?.data.windowStart, '2026-12-01')
    assert.equal(three[0]?.data.windowEnd, '2026-12-03')
  })

  it('20 % precipitation is clear, 21 % is not; wind over 40 km/h is not; code 3 is not', () => {
    assert.equal(weather(dates(1, 3).map((d) => day(d, { precipitationProbability: 20 }))).drafts.length, 1)
    assert.equal(weather(dates(1, 3).map((d) => day(d, { precipitationProbability: 21 }))).drafts.length, 0)
    assert.equal(weather(dates(1, 3).map((d) => day(d, { windSpeedMax: 41 }))).drafts.length, 0)
    assert.equal(weather(dates(1, 3).map((d) => day(d, { weatherCode: 3 }))).drafts.length, 0)
  })

  it('a window starting on departUntil counts; one starting the day after does not', () => {
    assert.equal(weather(dates(10, 3).map((d) => day(d))).drafts[0]?.data.windowStart, '2026-12-10')
    assert.equal(weather(dates(11, 3).map((d) => day(d))).drafts.length, 0)
  })

  it("needs the trip's length when longer than 3 days, and names the longest window as the departure", () => {
    const gap = day('2026-12-06', { weatherCode: 80 })
    const forecast = [...dates(1, 5).map((d) => day(d)), gap, ...dates(7, 4).map((d) => day(d))]
    assert.equal(weather(forecast, trip({ days: 6 })).drafts.length, 0)
    const drafts = weather(forecast, trip({ days: 4 })).drafts
    assert.deepEqual(
      drafts.map((d) => [d.data.windowStart, d.data.optimalDeparture]),
      [
        ['2026-12-01', '2026-12-01'],
        ['2026-12-07', '2026-12-01'],
      ],
    )
    assert.equal((drafts[0]?.data.days as unknown[] | undefined)?.length, 5)
  })

  it('does not evaluate a trip whose forecast is unavailable; resolves a cancelled or past trip', () => {
    const unavailable = weather('unavailable', trip(), ['weather:t1'])
    assert.deepEqual(unavailable, { conditions: [], drafts: [] })
    assert.deepEqual(
      weather(
        dates(1, 3).map((d) => day(d)),
        trip({ status: 'cancelled' }),
      ),
      {
        conditions: ['weather:t1'],
        drafts: [],
      },
    )
    assert.equal(
      weather(
        dates(1, 3).map((d) => day(d)),
        trip({ departUntil: '2026-11-29' }),
      ).drafts.length,
      0,
    )
  })
})

const NOW = new Date('2026-11-23T12:00:00Z')
const MAINT = { dueWithinDays: 14, dueWithinKm: 500 }
const item = (overrides: Partial<MaintenanceItemState> = {}): MaintenanceItemState => ({
  id: 'i1',
  vehicleId: 'v1',
  name: 'Oil change',
  intervalKm: null,
  intervalDays: null,
  cycleStartAt: '2026-05-27T12:00:00.000Z',
  lastDoneKm: 50_000,
  costEstimate: 89.99,
  currency: 'USD',
  vehicle: { odometerKm: 55_000, odometerAt: '2026-11-23T12:00:00.000Z', position: null },
  ...overrides,
})
const maintenance = (i: MaintenanceItemState) =>
  evaluateMaintenance({ items: [i], openConditions: [] }, NOW, new Map(), MAINT)

describe('maintenance monitor', () => {
  it('due in 14 days → medium; in 15 days → nothing; a day overdue → high', () => {
    // cycle start 2026-05-27 + 194 days = 2026-12-07 (14 days from now)
    assert.equal(maintenance(item({ intervalDays: 194 })).drafts[0]?.priority, 'medium')
    assert.equal(maintenance(item({ intervalDays: 195 })).drafts.length, 0)
    const overdue = maintenance(item({ intervalDays: 179 })).drafts[0]
    assert.equal(overdue?.priority, 'high')
    assert.equal(overdue?.data.overdueByDays, 1)
  })

  it('500 km left → medium; 501 → nothing; past the distance → high by how far', () => {
    assert.equal(maintenance(item({ intervalKm: 5_500 })).drafts[0]?.priority, 'medium')
    assert.equal(maintenance(item({ intervalKm: 5_501 })).drafts.length, 0)
    const over = maintenance(item({ intervalKm: 4_400 })).drafts[0]
    assert.equal(over?.priority, 'high')
    assert.equal(over?.data.overdueByKm, 600)
  })

  it('forecasts when a distance-based item will be due from the average daily distance', () => {
    // 5,000 km in 180 days ≈ 27.8 km/day; 400 km left ≈ 14.4 days
    const draft = maintenance(item({ intervalKm: 5_400 })).drafts[0]
    assert.equal(draft?.data.dueKm, 55_400)
    assert.equal(String(draft?.data.forecastDueAt).slice(0, 10), '2026-12-07')
    assert.equal(draft?.data.costEstimate, 89.99)
  })

  it('says the cost in the currency of the budgets, and says when it has none', () => {
    assert.match(String(maintenance(item({ intervalKm: 4_400 })).drafts[0]?.body), / About USD 89\.99\./)
    assert.match(
      String(maintenance(item({ intervalKm: 4_400, currency: null })).drafts[0]?.body),
      / Estimated cost 89\.99 \(add a budget to see its currency\)\./,
    )
  })

  it('whichever comes first: distance fine, date due', () => {
    assert.equal(maintenance(item({ intervalKm: 20_000, intervalDays: 190 })).drafts[0]?.priority, 'medium')
  })
})

const CONTEXT = { minConfidence: 0.7 }
const signal = (value: string, confidence: number, observedAt = '2026-11-23T10:00:00.000Z'): Signal => ({
  kind: 'location',
  value,
  confidence,
  observedAt,
})
const context = (signals: Signal[], now = NOW) => evaluateContext({ signals, openConditions: [] }, now, CONTEXT)

describe('context monitor', () => {
  it('0.71 changes the context and suggests; 0.70 changes nothing', () => {
    const accepted = context([signal('Moab', 0.71)]).drafts[0]
    assert.equal(accepted?.data.value, 'Moab')
    assert.equal(accepted?.data.previousValue, null)
    assert.equal(accepted?.expiresAt, '2026-11-24T10:00:00.000Z')
    assert.equal(context([signal('Moab', 0.7)]).drafts.length, 0)
  })

  it('the same value again is no change: one suggestion, for the first', () => {
    const drafts = context([
      signal('Moab', 0.9, '2026-11-23T09:00:00.000Z'),
      signal('Moab', 0.95, '2026-11-23T10:00:00.000Z'),
    ]).drafts
    assert.equal(drafts.length, 1)
    assert.equal(drafts[0]?.data.observedAt, '2026-11-23T09:00:00.000Z')
  })

  it('a weak signal in between does not break the chain; the previous value is named', () => {
    const drafts = context([
      signal('Moab', 0.9, '2026-11-23T08:00:00.000Z'),
      signal('Vegas', 0.5),
      signal('Denver', 0.8, '2026-11-23T11:00:00.000Z'),
    ]).drafts
    assert.equal(drafts[0]?.data.previousValue, 'Moab')
    assert.equal(drafts[0]?.data.value, 'Denver')
  })

  it('expires 24 h after the change: no suggestion once that has passed', () => {
    assert.equal(context([signal('Moab', 0.9)], new Date('2026-11-24T09:59:59Z')).drafts.length, 1)
    assert.equal(context([signal('Moab', 0.9)], new Date('2026-11-24T10:00:00Z')).drafts.length, 0)
  })
})
