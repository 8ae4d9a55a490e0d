import assert from 'node:assert/strict'
import { it } from 'node:test'
import { ROUTES, type Route, retryDelay, TASK_NAMES } from '../../src/jobs/routing.js'

const route = { backoffMs: 1_000, backoffCapMs: 10_000 } as Route

it('doubles the retry delay per attempt up to the cap, less up to half at random', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 9].map((attempt) => retryDelay(route, attempt, 0)),
    [1_000, 2_000, 4_000, 8_000, 10_000, 10_000],
  )
  assert.equal(retryDelay(route, 2, 0.999), 1_001)
  assert.equal(retryDelay(route, 9, 0.5), 7_500)
})

it('routes every task with a priority, retries and a time limit', () => {
  for (const task of TASK_NAMES) {
    const r = ROUTES[task]
    assert.ok(r.priority >= 1, `${task} priority`)
    assert.ok(r.attempts >= 1 && r.timeoutMs > 0 && r.backoffCapMs >= r.backoffMs, task)
  }
})
