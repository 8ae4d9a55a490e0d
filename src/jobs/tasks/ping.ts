import { setTimeout as sleep } from 'node:timers/promises'
import type { PayloadOf } from '../payloads.js'
import type { TaskHandler } from '../task.js'

/** A round trip through a queue: proves a worker consumes it (`pam call ops.ping --wait`). */
export const ping: TaskHandler<PayloadOf<'ops.ping'>, { pong: true; workerId: string }> = async (payload, context) => {
  const delayMs = payload.delayMs ?? 0
  if (delayMs > 0) await sleep(delayMs, undefined, { signal: context.signal })
  return { pong: true, workerId: context.workerId }
}
