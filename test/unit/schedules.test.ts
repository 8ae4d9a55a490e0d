import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { schedules } from '../../src/jobs/schedules.js'
import { loadConfig } from '../../src/platform/config.js'

describe('schedules', () => {
  it('has the schedules docs/api.md lists, at their cadences, by default', () => {
    const cadences = Object.fromEntries(schedules(loadConfig({})).map((s) => [s.id, s.pattern]))
    assert.deepEqual(cadences, {
      'pam-fuel-monitoring': '*/5 * * * *',
      'pam-budget-analysis': '0 * * * *',
      'pam-weather-monitoring': '*/30 * * * *',
      'pam-maintenance-monitoring': '0 6 * * *',
      'pam-context-monitoring': '*/15 * * * *',
      'pam-evaluation-drain': '*/5 * * * * *',
      'pam-delivery-drain': '*/10 * * * * *',
      'pam-digests': '* * * * *',
      'pam-housekeeping': '17 3 * * *',
      'pam-briefings': '5 * * * *',
    })
  })

  it('takes each cadence from the environment, and refuses one that is not a cron pattern', () => {
    const config = loadConfig({ SCHEDULE_FUEL_MONITORING: '*/2 * * * *', SCHEDULE_HOUSEKEEPING: '0 4 * * *' })
    const byId = new Map(schedules(config).map((s) => [s.id, s.pattern]))
    assert.equal(byId.get('pam-fuel-monitoring'), '*/2 * * * *')
    assert.equal(byId.get('pam-housekeeping'), '0 4 * * *')
    assert.throws(() => loadConfig({ SCHEDULE_BUDGET_ANALYSIS: 'hourly' }), /SCHEDULE_BUDGET_ANALYSIS/)
  })
})
