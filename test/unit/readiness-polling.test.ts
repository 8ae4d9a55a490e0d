import assert from 'node:assert/strict'
import { it } from 'node:test'
import { type Readiness, recentReadiness } from '../../src/operations/health/readiness.js'

const answer = (ready: boolean): Readiness => ({
  ready,
  components: { database: ready, redis: null, workers: true },
  queuesWithoutWorkers: [],
  durationMs: 1,
})

it('checks on every poll of a few a second, so a change shows at once', async () => {
  let clock = 0
  let checks = 0
  let ready = true
  const readiness = recentReadiness(
    async () => {
      checks++
      return answer(ready)
    },
    { maxAgeMs: 1_000, freshPerSecond: 10 },
    () => clock,
  )
  assert.equal((await readiness()).ready, true)
  ready = false
  clock += 100
  assert.equal((await readiness()).ready, false)
  assert.equal(checks, 2)
})

it('checks at most freshPerSecond times a second under a flood, answering at most maxAgeMs old', async () => {
  let clock = 0
  let checks = 0
  const readiness = recentReadiness(
    async () => {
      checks++
      return answer(true)
    },
    { maxAgeMs: 1_000, freshPerSecond: 10 },
    () => clock,
  )
  for (let poll = 0; poll < 3_000; poll++) {
    const result = await readiness()
    assert.ok(clock - result.checkedAt.getTime() <= 1_000)
    clock += 1 // 1,000 polls a second for 3 s
  }
  assert.ok(checks <= 30 + 3, `${checks} checks`)
})

it('shares a running check among the callers that arrive meanwhile', async () => {
  let checks = 0
  let finish: (value: Readiness) => void = () => undefined
  const readiness = recentReadiness(
    () => {
      checks++
      return new Promise<Readiness>((resolve) => {
        finish = resolve
      })
    },
    { maxAgeMs: 1_000, freshPerSecond: 10 },
  )
  const callers = Array.from({ length: 150 }, () => readiness())
  finish(answer(true))
  const results = await Promise.all(callers)
  assert.equal(checks, 1)
  assert.ok(results.every((r) => r.ready))
})
