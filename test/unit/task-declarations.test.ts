import assert from 'node:assert/strict'
import { it } from 'node:test'
import { retryDelay, TASK_NAMES, TASKS, type TaskDeclaration } from '../../src/jobs/task-declarations.js'

const declaration = { backoffMs: 1_000, backoffCapMs: 10_000 } as TaskDeclaration

it('doubles the retry delay per attempt up to the cap, less up to half at random', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 9].map((attempt) => retryDelay(declaration, attempt, 0)),
    [1_000, 2_000, 4_000, 8_000, 10_000, 10_000],
  )
  assert.equal(retryDelay(declaration, 2, 0.999), 1_001)
  assert.equal(retryDelay(declaration, 9, 0.5), 7_500)
})

it('declares every task with a priority, retries and a time limit', () => {
  for (const task of TASK_NAMES) {
    const r = TASKS[task]
    assert.ok(r.priority >= 1, `${task} priority`)
    assert.ok(r.attempts >= 1 && r.timeoutMs > 0 && r.backoffCapMs >= r.backoffMs, task)
  }
})
