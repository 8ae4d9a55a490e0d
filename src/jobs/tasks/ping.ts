import { setTimeout as sleep } from 'node:timers/promises'
import { UnrecoverableError } from 'bullmq'
import type { TaskHandler } from '../task.js'

export interface PingPayload {
  /** Hold the job this long first: checks time limits, shutdown and stalled-job recovery. */
  delayMs?: number
}

const MAX_DELAY_MS = 60_000

/** A round trip through a queue: proves a worker consumes it (`pam call ops.ping --wait`). */
export const ping: TaskHandler<PingPayload, { pong: true; workerId: string }> = async (payload, context) => {
  const delayMs = payload?.delayMs ?? 0
  if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > MAX_DELAY_MS) {
    throw new UnrecoverableError(`delayMs must be a whole number from 0 to ${MAX_DELAY_MS}`)
  }
  if (delayMs > 0) await sleep(delayMs, undefined, { signal: context.signal })
  return { pong: true, workerId: context.workerId }
}
