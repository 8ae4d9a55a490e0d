import pg from 'pg'
import { claimMarked, releaseClaims, waitingUsers } from '../monitoring/evaluation-mark-repository.js'
import { type MonitorName, monitorNamed } from '../monitoring/registry.js'
import type { Bus } from '../platform/backend/backend.js'
import { messageOf } from '../platform/errors/error-message.js'
import { isUuid } from '../platform/ids.js'
import type { Logger } from '../platform/logger.js'
import { EVALUATIONS_CHANNEL } from './evaluation-trigger.js'
import type { TaskContext } from './task.js'
import { runMonitor } from './tasks/monitor-tasks.js'

/** Users per evaluation: requests that arrive while one runs are taken together by the next. */
const BATCH = 500
/** A user another worker is evaluating is asked for again after this, while their mark stays. */
const HELD_RETRY_MS = 200
/** Past this many tries the user is left to the drainer (another worker's evaluation runs long). */
const HELD_TRIES = 50

export interface PromptEvaluations {
  /** Stops taking requests and waits for the evaluations under way, `timeoutMs` at most (their claims end with the session). */
  close(timeoutMs: number): Promise<void>
}

/**
 * Postgres-only mode's evaluation of a write, without a queue job: the API tells every worker over
 * the bus (evaluationTrigger), each worker gathers the requests per monitor, and evaluates those
 * whose claim its session takes (claimMarked), one batch per monitor at a time. A worker that is
 * killed holds no claim past its connection; a request nobody heard (no worker listening, the bus
 * reconnecting) leaves the write's mark, which is read back when the bus is live again, and by the
 * drainer in any case.
 */
export async function startPromptEvaluations(deps: {
  bus: Bus
  /** A session URL (not a pooler's transaction mode): the claims are session locks. */
  databaseUrl: string
  /** The monitors whose evaluations this worker runs. */
  monitors: readonly MonitorName[]
  context: Omit<TaskContext, 'jobId' | 'retriesLeft'>
  logger: Logger
}): Promise<PromptEvaluations> {
  const { logger } = deps
  // One session holds the claims (a pool of one connection, kept however long it idles): each is
  // released with it when the process dies, or when pg drops the connection after an error.
  const session = new pg.Pool({
    connectionString: deps.databaseUrl,
    max: 1,
    idleTimeoutMillis: 0,
    application_name: 'pam-claims',
  })
  session.on('error', (error) => logger.warn({ err: error.message }, 'claims session lost'))
  const pending = new Map<MonitorName, Map<string, number>>()
  const running = new Map<MonitorName, Promise<void>>()
  let closed = false

  const ask = (monitor: MonitorName, userIds: readonly string[], tries = 0) => {
    if (closed) return
    const users = pending.get(monitor) ?? new Map<string, number>()
    pending.set(monitor, users)
    for (const userId of userIds) users.set(userId, Math.max(tries, users.get(userId) ?? 0))
    if (!running.has(monitor)) {
      running.set(
        monitor,
        drain(monitor).finally(() => running.delete(monitor)),
      )
    }
  }

  async function drain(monitor: MonitorName) {
    for (;;) {
      const users = pending.get(monitor)
      if (closed || !users || users.size === 0) return
      const batch = [...users].slice(0, BATCH)
      for (const [userId] of batch) users.delete(userId)
      await evaluate(monitor, new Map(batch))
    }
  }

  async function evaluate(monitor: MonitorName, tries: ReadonlyMap<string, number>) {
    const definition = monitorNamed(monitor)
    if (!definition) return
    let claimed: string[] = []
    try {
      const { seen, heldElsewhere } = await claimMarked(session, monitor, definition.alertKind, [...tries.keys()])
      claimed = [...seen.keys()]
      const again = heldElsewhere.filter((userId) => (tries.get(userId) ?? 0) < HELD_TRIES)
      if (again.length > 0) {
        setTimeout(() => {
          for (const userId of again) ask(monitor, [userId], (tries.get(userId) ?? 0) + 1)
        }, HELD_RETRY_MS).unref()
      }
      if (claimed.length > 0) {
        const context = { ...deps.context, jobId: `prompt:${monitor}`, retriesLeft: false }
        await runMonitor(definition, context, claimed, 'a write', seen)
      }
    } catch (error) {
      // The marks stay: the drainer evaluates these writes.
      logger.warn(
        { monitor, users: tries.size, err: messageOf(error) },
        'prompt evaluation failed; the drainer retries it',
      )
    } finally {
      // Claims not given back stay until the session ends (the server ends them with a connection
      // that failed); meanwhile the drainer's pages, which take no claim, evaluate those users.
      await releaseClaims(session, monitor, claimed).catch((error) =>
        logger.warn({ monitor, err: messageOf(error) }, 'could not release evaluation claims; its session ends'),
      )
    }
  }

  // Marks written while this worker was not listening (its start, a reconnect): read back at once.
  const readBack = () => {
    for (const name of deps.monitors) {
      waitingUsers(deps.context.db, name, 0, BATCH).then(
        (userIds) => ask(name, userIds),
        (error) => logger.warn({ monitor: name, err: messageOf(error) }, 'could not read waiting marks back'),
      )
    }
  }
  const unsubscribe = await deps.bus.subscribe(
    EVALUATIONS_CHANNEL,
    (message) => {
      const [monitor, userId] = Array.isArray(message) ? message : []
      const name = deps.monitors.find((known) => known === monitor)
      if (name && isUuid(userId)) ask(name, [userId])
    },
    { onGap: readBack },
  )
  readBack()

  return {
    async close(timeoutMs) {
      closed = true
      await unsubscribe()
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        Promise.allSettled(running.values()),
        new Promise((resolve) => {
          timer = setTimeout(resolve, timeoutMs)
        }),
      ])
      clearTimeout(timer)
      await session.end()
    },
  }
}
