import { UnrecoverableError } from 'bullmq'
import { announceAlertEvents, appliedEvents, applyEvaluations } from '../../monitoring/alerts/alert-store.js'
import { type CandidatePage, markedOrDueUsers } from '../../monitoring/candidates.js'
import {
  openConditionsIn,
  readSeen,
  type Seen,
  seenGuard,
  waitingUsers,
} from '../../monitoring/evaluation-mark-repository.js'
import type { Monitor } from '../../monitoring/monitor.js'
import {
  coveredUntil,
  failOrphanedRuns,
  failRun,
  recordPage,
  setPages,
  startRun,
} from '../../monitoring/monitor-run-repository.js'
import { type MonitorName, monitorRules, monitors } from '../../monitoring/registry.js'
import { messageOf } from '../../platform/errors/error-message.js'
import { deliveryTrigger } from '../delivery-trigger.js'
import type { NoPayload, PagePayload, UserPayload } from '../payloads.js'
import type { MonitorServices, TaskContext, TaskHandler } from '../task.js'
import { queueAlertTexts } from './ai-tasks.js'

/** Users per page job: one snapshot query per page, several workers share a sweep's pages. */
const SWEEP_PAGE_SIZE = 500

export interface MonitorResult {
  usersEvaluated: number
  alertsCreated: number
  alertsResolved: number
  degraded: boolean
}

function servicesOf(context: TaskContext): MonitorServices {
  if (!context.services) throw new UnrecoverableError('this worker was started without monitor services')
  return context.services
}

/** The monitor's thresholds as the worker read them from config when it started (the registry is sealed by then). */
const thresholdsOf = (services: MonitorServices, monitor: Monitor): unknown => services.thresholds.get(monitor.name)

/**
 * Evaluate, store, publish: the same path for one user after a write, a sweep's page and the
 * drainer's. What each user's marks and applied evaluations were is read before their data; the
 * alerts are stored only if no other evaluation of the user was applied since (it may have read
 * newer data), and the marks cleared only where no write came in meanwhile.
 */
export async function runMonitor(
  monitor: Monitor,
  context: TaskContext,
  userIds: readonly string[],
  from: 'a write' | 'a page',
  /** What the evaluation answers for, when its caller read it already (claimMarked). */
  claimed?: ReadonlyMap<string, Seen>,
): Promise<MonitorResult> {
  const services = servicesOf(context)
  const seen = claimed ?? (await readSeen(context.db, monitor.name, monitor.alertKind, userIds))
  const thresholds = thresholdsOf(services, monitor)
  const { evaluations, degraded } = await monitor.evaluate(
    context.db,
    userIds,
    services,
    thresholds,
    new Date(),
    openConditionsIn(seen),
  )
  const { applied, overtaken } = await applyEvaluations(
    context.db,
    evaluations,
    seenGuard(monitor.name, seen),
    services.observers?.alertChanged,
  )
  // Overtaken by another evaluation, which may have read older data: look again now rather than
  // wait for the drainer (their marks were left in place either way).
  if (overtaken.length > 0) for (const userId of overtaken) services.evaluate(monitor.name, userId)
  let alertsCreated = 0
  let alertsResolved = 0
  const delivery = deliveryTrigger(services.enqueue, context.logger)
  for (const [userId, changes] of applied) {
    alertsCreated += changes.created.length
    alertsResolved += changes.resolved.length
    // Only an evaluation a write asked for has a write time (a sweep's finds no mark).
    const writtenAt = seen.get(userId)?.markedAt
    if (!writtenAt || !services.observers) continue
    for (const alert of changes.created) {
      services.observers.writeToAlert(Math.max(0, (Date.parse(alert.createdAt) - writtenAt.getTime()) / 1000))
    }
  }
  // The page's events in as few bus messages as fit, each user's in order.
  const events = [...applied].flatMap(([userId, changes]) => appliedEvents(userId, changes))
  await announceAlertEvents(services.bus, events, context.logger, 'alerts stored')
  // Then their deliveries (the socket never waits for them), queued in batches, not awaited: a
  // queue outage must not hold up the evaluation (notify.drain catches up). A write's alerts with
  // nothing to send now are recorded here instead, saving each its own job; a page's share jobs of
  // 200 already, and keep the sweep's time to its alerts.
  await delivery.deliverNew(
    context.db,
    from === 'a write' ? context.delivery : undefined,
    [...applied.values()].flatMap((changes) => changes.created.map((alert) => alert.id)),
  )
  // After the alerts are out with their template text: their AI text never delays them.
  if (services.rewritesAlertTexts) {
    await Promise.all(
      [...applied].map(([userId, changes]) =>
        queueAlertTexts(services.enqueue, context.logger, userId, changes.created),
      ),
    )
  }
  return { usersEvaluated: userIds.length, alertsCreated, alertsResolved, degraded }
}

/** `monitor.<name>.evaluate {userId}`: enqueued on each relevant write, deduplicated per user. */
export const evaluateTask =
  (monitor: Monitor): TaskHandler<UserPayload, MonitorResult> =>
  async ({ userId }, context) =>
    runMonitor(monitor, context, [userId], 'a write')

/**
 * `monitor.<name>.sweep`: the periodic safety net. Visits, in keyset pages (one query each), the
 * users writes marked and those whose condition changed with time alone since the last run that
 * finished under the same rules — or every candidate when there is no such run (the first, or the
 * rule versions or thresholds changed). Records a monitor run and fans the pages out as jobs that
 * any worker can take. Nothing marked and nothing due: no page, no user's data read.
 */
export const sweepTask =
  (monitor: Monitor): TaskHandler<NoPayload, { runId: string; pages: number; users: number }> =>
  async (_payload, context) => {
    const services = servicesOf(context)
    const orphaned = await failOrphanedRuns(context.db, monitor.name)
    if (orphaned > 0) context.logger.warn({ orphaned }, 'closed sweep runs whose worker died as failed')
    for (let run = 0; run < orphaned; run++) services.observers?.sweepFinished(monitor.name, 'failed')
    const thresholds = thresholdsOf(services, monitor)
    const rules = monitorRules(monitor, thresholds)
    const now = new Date()
    const since = await coveredUntil(context.db, monitor.name, rules)
    const runId = await startRun(context.db, monitor.name, { scope: since ? 'changed' : 'full', rules, startedAt: now })
    const due = since ? monitor.dueWithTime?.({ since, now }, thresholds) : undefined
    try {
      // Each page is queued as soon as it is found: the sweep holds one page of users at a time.
      let pages = 0
      let users = 0
      for (let after: string | null = null; ; ) {
        const keyset: CandidatePage = { after, limit: SWEEP_PAGE_SIZE }
        const userIds: string[] = since
          ? await markedOrDueUsers(context.db, monitor.name, keyset, due)
          : await monitor.candidates(context.db, keyset, thresholds, now)
        if (userIds.length > 0) {
          await services.enqueue(monitor.tasks.page, { runId, page: pages, userIds })
          pages += 1
          users += userIds.length
        }
        if (userIds.length < SWEEP_PAGE_SIZE) break
        after = userIds.at(-1) ?? null
      }
      // Until the total is known no page can close the run; now the last one to finish does (or this).
      const closed = await setPages(context.db, runId, pages)
      if (closed) services.observers?.sweepFinished(monitor.name, closed === 'degraded' ? 'degraded' : 'ok')
      return { runId, pages, users }
    } catch (error) {
      await failRun(context.db, runId, messageOf(error)).then(
        () => services.observers?.sweepFinished(monitor.name, 'failed'),
        () => undefined,
      )
      throw error
    }
  }

/** `monitor.<name>.page {runId?, page?, userIds}`: one page of a sweep (counted in its run), or of the drainer. */
export const pageTask =
  (monitor: Monitor): TaskHandler<PagePayload, MonitorResult> =>
  async ({ runId, page, userIds }, context) => {
    if ((runId === undefined) !== (page === undefined)) {
      throw new UnrecoverableError("a sweep's page needs runId and its page number")
    }
    const result = await runMonitor(monitor, context, userIds, 'a page')
    if (runId !== undefined && page !== undefined) {
      const closed = await recordPage(context.db, runId, page, result)
      if (closed) context.services?.observers?.sweepFinished(monitor.name, closed === 'degraded' ? 'degraded' : 'ok')
    }
    return result
  }

/** Users per drained page; a larger backlog drains over the following ticks. */
const DRAIN_PAGE_SIZE = 500

/**
 * `evaluations.drain`, every few seconds: the writes whose evaluation mark is older than the
 * grace period (their job is late, deduplicated away or lost with a queue outage) are evaluated
 * as one page per monitor. One pending drain page per monitor at a time, so a backlog behind a
 * slow queue is not piled up tick after tick.
 */
export const drainTask: TaskHandler<NoPayload, Record<MonitorName, number>> = async (_payload, context) => {
  const services = servicesOf(context)
  const drained = {} as Record<MonitorName, number>
  for (const { name, tasks } of monitors()) {
    const userIds = await waitingUsers(context.db, name, services.drainGraceMs, DRAIN_PAGE_SIZE)
    drained[name] = userIds.length
    if (userIds.length > 0) {
      await services.enqueue(tasks.page, { userIds }, { deduplication: { id: `drain:${name}` } })
    }
  }
  return drained
}
