import assert from 'node:assert/strict'
import { it } from 'node:test'
import { STALL_MS, type StallSample, type StallWatch, watchStall } from '../../src/jobs/worker-stall.js'

/** Looks at a worker every `stepMs`, each look's sample made from the time it is taken. */
function looks(samples: ((at: number) => StallSample)[], stepMs: number): boolean[] {
  let watch: StallWatch | undefined
  return samples.map((sample, i) => {
    const verdict = watchStall(watch, sample(i * stepMs))
    watch = verdict.watch
    return verdict.stuck
  })
}

const idle = (at: number): StallSample => ({ at, ready: 3, running: 0, concurrency: 4, started: 7 })

it('calls a worker stuck once ready jobs have waited STALL_MS for it with room and nothing started', () => {
  const verdicts = looks(Array(5).fill(idle), STALL_MS / 3)
  assert.deepEqual(verdicts, [false, false, false, true, true])
})

it('does not call a worker stuck that starts a job now and then, however many wait', () => {
  let started = 0
  const busy = (at: number): StallSample => ({ at, ready: 50, running: 1, concurrency: 4, started: started++ })
  assert.deepEqual(looks(Array(8).fill(busy), STALL_MS / 3), Array(8).fill(false))
})

it('does not call a full worker stuck: its jobs are long, not lost', () => {
  const full = (at: number): StallSample => ({ at, ready: 9, running: 4, concurrency: 4, started: 4 })
  assert.deepEqual(looks(Array(8).fill(full), STALL_MS / 3), Array(8).fill(false))
})

it('starts the watch over when the queue is found empty (or could not be read) in between', () => {
  const empty = (at: number): StallSample => ({ ...idle(at), ready: 0 })
  const verdicts = looks([idle, idle, idle, empty, idle, idle, idle, idle], STALL_MS / 3)
  assert.deepEqual(verdicts, [false, false, false, false, false, false, false, true])
})
