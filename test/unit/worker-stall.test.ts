import assert from 'node:assert/strict'
import { it } from 'node:test'
import { STALL_MS, type StallSample, type StallWatch, watchStall } from '../../src/jobs/worker-stall.js'

/** Looks at a worker every `stepMs`: for each look, how long it has been stuck (undefined: it is not). */
function looks(samples: ((at: number) => StallSample)[], stepMs: number): (number | undefined)[] {
  let watch: StallWatch | undefined
  return samples.map((sample, i) => {
    const verdict = watchStall(watch, sample(i * stepMs))
    watch = verdict.watch
    return verdict.stuckForMs
  })
}

const STEP = STALL_MS / 3
const idle = (at: number): StallSample => ({ at, ready: 3, running: 0, started: 7 })

it('calls an idle worker stuck once ready jobs have waited STALL_MS for it, saying for how long', () => {
  assert.deepEqual(looks(Array(5).fill(idle), STEP), [undefined, undefined, undefined, STALL_MS, STALL_MS + STEP])
})

it('does not call a worker stuck that starts a job now and then, however many wait', () => {
  let started = 0
  const taking = (at: number): StallSample => ({ at, ready: 50, running: 0, started: started++ })
  assert.deepEqual(looks(Array(8).fill(taking), STEP), Array(8).fill(undefined))
})

it('never calls a worker stuck while it runs a job: replacing it would abandon the job', () => {
  const busy = (at: number): StallSample => ({ at, ready: 9, running: 1, started: 4 })
  assert.deepEqual(looks(Array(8).fill(busy), STEP), Array(8).fill(undefined))
  // Idle again: the watch starts then, not at the first look.
  const verdicts = looks([busy, busy, busy, idle, idle, idle, idle], STEP)
  assert.deepEqual(verdicts, [undefined, undefined, undefined, undefined, undefined, undefined, STALL_MS])
})

it('starts the watch over when the queue is found empty (or could not be read) in between', () => {
  const empty = (at: number): StallSample => ({ ...idle(at), ready: 0 })
  const verdicts = looks([idle, idle, idle, empty, idle, idle, idle, idle], STEP)
  assert.deepEqual(verdicts, [...Array(7).fill(undefined), STALL_MS])
})
