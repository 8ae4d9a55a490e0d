import assert from 'node:assert/strict'
import { it } from 'node:test'
import { monitors, registerMonitor } from '../../src/monitoring/registry.js'
import { mileageAllowance } from '../fixtures/monitors/mileage-allowance/monitor.js'

it('registers a monitor once, refuses a clash of name or alert kind, and nothing once the registry was read', () => {
  registerMonitor(mileageAllowance)
  assert.throws(
    () => registerMonitor(mileageAllowance),
    /a monitor named mileage is registered.*already opens mileage_over_allowance/,
  )
  assert.throws(
    () => registerMonitor({ ...mileageAllowance, name: 'Mileage!', alertKind: 'fuel_low' }),
    /its name must match.*its evaluate task must be monitor\.Mileage!\.evaluate.*fuel already opens fuel_low/,
  )
  assert.ok(monitors().some((monitor) => monitor.name === 'mileage'))
  // A role built from the registry would not know a monitor added now.
  assert.throws(
    () => registerMonitor({ ...mileageAllowance, name: 'late', alertKind: 'late_alert' }),
    /the registry was read already/,
  )
})
