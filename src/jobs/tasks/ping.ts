import type { TaskHandler } from '../task.js'

/** A no-op round trip through a queue: proves a worker consumes it (`pam call ops.ping --wait`). */
export const ping: TaskHandler<Record<string, never>, { pong: true; workerId: string }> = async (
  _payload,
  context,
) => ({
  pong: true,
  workerId: context.workerId,
})
