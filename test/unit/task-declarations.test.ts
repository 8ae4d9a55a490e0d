import assert from 'node:assert/strict'
import { it } from 'node:test'
import { UnrecoverableError } from 'bullmq'
import { runnableTasks } from '../../src/jobs/handlers.js'
import { parsePayload } from '../../src/jobs/payloads.js'
import {
  declarationOf,
  jobOptions,
  retryDelay,
  type TaskDeclaration,
  taskNames,
} from '../../src/jobs/task-declarations.js'

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
  for (const task of taskNames()) {
    const r = declarationOf(task)
    assert.ok(r.priority >= 1, `${task} priority`)
    assert.ok(r.attempts >= 1 && r.timeoutMs > 0 && r.backoffCapMs >= r.backoffMs, task)
  }
})

it('keeps finished jobs by age alone in Postgres-only mode: a count there is two scans of the kept jobs per completion', () => {
  for (const task of taskNames()) {
    const { removeOnComplete, removeOnFail } = jobOptions(task, 'postgres')
    for (const kept of [removeOnComplete, removeOnFail]) {
      assert.ok(kept === true || (kept.age > 0 && !('count' in kept)), `${task}: ${JSON.stringify(kept)}`)
    }
    assert.ok('count' in jobOptions(task, 'redis').removeOnFail, 'Redis caps their memory')
  }
  assert.equal(jobOptions('monitor.fuel.page', 'redis').removeOnComplete, true, "a page's outcome is in its run")
})

it('gives every declared task a handler behind its payload check', () => {
  assert.deepEqual(Object.keys(runnableTasks()).sort(), taskNames().sort())
})

it('hands a handler only a payload that fits its task; any other job fails for good, naming the field', () => {
  const user = '7d3f6a9e-1c2b-4e5f-8a9b-0c1d2e3f4a5b'
  assert.deepEqual(parsePayload('monitor.fuel.evaluate', { userId: user }), { userId: user })
  assert.deepEqual(parsePayload('notify.deliver', { alertId: user }), { alertId: user }, 'jobs queued before batches')
  assert.deepEqual(parsePayload('monitor.fuel.sweep', {}), {})
  const refusal = (task: Parameters<typeof parsePayload>[0], data: unknown) => {
    try {
      parsePayload(task, data)
    } catch (error) {
      assert.ok(error instanceof UnrecoverableError, 'a retry cannot fix the data')
      return error.message
    }
    assert.fail(`${task} took ${JSON.stringify(data)}`)
  }
  assert.match(refusal('monitor.fuel.evaluate', { userId: 'not-a-user' }), /^monitor\.fuel\.evaluate payload: userId /)
  assert.match(refusal('ai.alert-text', { userId: user }), /alertId/)
  assert.match(refusal('monitor.budget.page', { userIds: [user, 42] }), /userIds\/1/)
  assert.match(refusal('ops.ping', { delayMs: 60_001 }), /delayMs must be <= 60000/)
  assert.match(refusal('notify.deliver', { alertIds: [] }), /notify\.deliver payload/)
  assert.match(refusal('notify.confirm-email', null), /payload must be object/)
})
