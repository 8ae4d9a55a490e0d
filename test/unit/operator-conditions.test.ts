import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { cadenceMs } from '../../src/operations/operations-snapshot-repository.js'
import { type ConditionState, decide } from '../../src/operations/operator-alert-decisions.js'
import { firingConditions, type OperationsSnapshot } from '../../src/operations/operator-conditions.js'

const now = new Date('2026-11-23T12:00:00Z')
const minutesAgo = (n: number) => new Date(now.getTime() - n * 60_000)
const healthy: OperationsSnapshot = {
  now,
  unavailable: [],
  failedJobs: [],
  sweeps: [{ monitor: 'fuel', status: 'succeeded', finishedAt: minutesAgo(1) }],
  workersPerQueue: { notifications: 1, analytics: 2, maintenance: 1 },
  schedules: [{ schedule: 'pam-fuel-monitoring', lastRunAt: minutesAgo(4), cadenceMs: 5 * 60_000 }],
  watchingSince: minutesAgo(600),
  providers: [{ provider: 'weather', succeeded: 20, failed: 1 }],
  aiBudget: { spent: 1, limit: 10 },
}
const thresholds = { providerFailureRatio: 0.5 }
const keys = (snapshot: OperationsSnapshot) => firingConditions(snapshot, thresholds).map((c) => c.key)

describe('operator conditions', () => {
  it('none hold in a healthy deployment', () => {
    assert.deepEqual(keys(healthy), [])
  })

  it('jobs that failed for good: one condition per queue and task, naming the latest time and where to read why', () => {
    const conditions = firingConditions(
      {
        ...healthy,
        failedJobs: [
          { queue: 'analytics', task: 'monitor.budget.page', failedAt: minutesAgo(5), recovers: false },
          { queue: 'analytics', task: 'monitor.budget.page', failedAt: minutesAgo(1), recovers: false },
          { queue: 'notifications', task: 'ops.ping', failedAt: minutesAgo(2), recovers: false },
        ],
      },
      thresholds,
    )
    assert.deepEqual(
      conditions.map((c) => c.key),
      ['job_failed:analytics:monitor.budget.page', 'job_failed:notifications:ops.ping'],
    )
    assert.equal(
      conditions[0]?.summary,
      `2 monitor.budget.page job(s) on queue analytics failed for good in the last 15 min, the latest at ${minutesAgo(1).toISOString()}; why: npx pam inspect failed --queue analytics`,
    )
  })

  it('an outage is one condition; the jobs it failed that redo their work by themselves are not reported', () => {
    const conditions = firingConditions(
      {
        ...healthy,
        unavailable: [{ store: 'redis', since: minutesAgo(1) }],
        failedJobs: [
          ...['evaluations.drain', 'notify.drain', 'evaluations.drain'].map((task) => ({
            queue: 'notifications',
            task,
            failedAt: minutesAgo(1),
            recovers: true,
          })),
          {
            queue: 'notifications',
            task: 'ai.alert-text',
            failedAt: minutesAgo(1),
            recovers: false,
          },
        ],
      },
      thresholds,
    )
    assert.deepEqual(
      conditions.map((c) => c.key),
      ['store_unavailable:redis', 'job_failed:notifications:ai.alert-text'],
    )
    assert.match(conditions[0]?.summary ?? '', /^Redis does not answer since [^(]*: jobs cannot be queued/)
  })

  it('a sweep whose latest run is degraded or failed', () => {
    assert.deepEqual(
      keys({
        ...healthy,
        sweeps: [
          { monitor: 'fuel', status: 'degraded', finishedAt: minutesAgo(1) },
          { monitor: 'weather', status: 'failed', finishedAt: minutesAgo(1) },
          { monitor: 'budget', status: 'succeeded', finishedAt: minutesAgo(1) },
        ],
      }),
      ['sweep_unhealthy:fuel', 'sweep_unhealthy:weather'],
    )
  })

  it('a queue without a live worker', () => {
    assert.deepEqual(keys({ ...healthy, workersPerQueue: { ...healthy.workersPerQueue, analytics: 0 } }), [
      'queue_without_worker:analytics',
    ])
  })

  it('a schedule with no run within twice its cadence (and a little slack), measured from the watch when it never ran', () => {
    const schedule = (lastRunAt: Date | undefined) => ({
      ...healthy,
      schedules: [{ schedule: 's', lastRunAt, cadenceMs: 5 * 60_000 }],
    })
    assert.deepEqual(keys(schedule(minutesAgo(10))), [])
    assert.deepEqual(keys(schedule(minutesAgo(11))), ['schedule_missed:s'])
    assert.deepEqual(keys({ ...schedule(undefined), watchingSince: minutesAgo(5) }), [])
    assert.deepEqual(keys({ ...schedule(undefined), watchingSince: minutesAgo(11) }), ['schedule_missed:s'])
  })

  it('a provider failing at the threshold share, given enough lookups to judge', () => {
    const provider = (succeeded: number, failed: number) => ({
      ...healthy,
      providers: [{ provider: 'places', succeeded, failed }],
    })
    assert.deepEqual(keys(provider(5, 5)), ['provider_failing:places'])
    assert.deepEqual(keys(provider(6, 4)), [])
    assert.deepEqual(keys(provider(0, 4)), [])
  })

  it('the AI daily budget 80 % spent; nothing without a ledger', () => {
    assert.deepEqual(keys({ ...healthy, aiBudget: { spent: 8, limit: 10 } }), ['ai_budget'])
    assert.deepEqual(keys({ ...healthy, aiBudget: { spent: 7.9, limit: 10 } }), [])
    assert.deepEqual(keys({ ...healthy, aiBudget: undefined }), [])
  })

  it("a cron pattern's cadence", () => {
    assert.equal(cadenceMs('*/5 * * * *', now), 5 * 60_000)
    assert.equal(cadenceMs('*/5 * * * * *', now), 5_000)
    assert.equal(cadenceMs('17 3 * * *', now), 24 * 3_600_000)
  })
})

describe('operator alert decisions', () => {
  const cooldown = 30 * 60_000
  const condition = { key: 'sweep_unhealthy:fuel', kind: 'sweep_unhealthy' as const, summary: 'the fuel sweep failed' }
  const at = (minutes: number) => new Date(now.getTime() + minutes * 60_000)
  /** Runs checks in order, carrying the stored states along; returns each check's messages. */
  function run(checks: [minute: number, firing: boolean][]) {
    let states: ConditionState[] = []
    return checks.map(([minute, firing]) => {
      const decision = decide(firing ? [condition] : [], states, at(minute), cooldown)
      const byKey = new Map(states.map((s) => [s.condition, s]))
      for (const state of decision.states) byKey.set(state.condition, state)
      states = [...byKey.values()]
      return decision.messages.map((m) => m.change).join(',')
    })
  }

  it('raises once while a condition holds, and says when it is resolved', () => {
    assert.deepEqual(
      run([
        [0, true],
        [1, true],
        [2, true],
        [3, false],
        [4, false],
      ]),
      ['raised', '', '', 'resolved', ''],
    )
  })

  it('does not raise a condition again within the cooldown; announces it after, if it still holds', () => {
    assert.deepEqual(
      run([
        [0, true],
        [1, false],
        [2, true],
        [3, false],
        [4, true],
        [31, true],
        [32, false],
      ]),
      ['raised', 'resolved', '', '', '', 'raised', 'resolved'],
    )
  })

  it('raises again past the cooldown', () => {
    assert.deepEqual(
      run([
        [0, true],
        [1, false],
        [40, true],
      ]),
      ['raised', 'resolved', 'raised'],
    )
  })
})
