import { UnrecoverableError } from 'bullmq'
import type { Evaluation } from '../../alerts/alert-draft.js'
import { applyEvaluations, publishApplied } from '../../alerts/alert-store.js'
import type { Db } from '../../db/database.js'
import { readSeen, settleSeen, waitingUsers } from '../../evaluations/evaluation-mark-repository.js'
import { evaluationTrigger } from '../../evaluations/evaluation-trigger.js'
import { isUuid } from '../../ids.js'
import { failOrphanedRuns, failRun, recordPage, setPages, startRun } from '../../monitor-runs/monitor-run-repository.js'
import { MONITOR_NAMES, type MonitorName } from '../../monitors/monitor-names.js'
import type { MonitorServices, TaskContext, TaskHandler } from '../task.js'

/** Users per page job: one snapshot query per page, several workers share a sweep's pages. */
export const SWEEP_PAGE_SIZE = 500

export interface Verdicts {
  evaluations: Map<string, Evaluation>
  /** A provider could not answer: alerts went out without its data. */
  degraded: boolean
}

export interface Monitor {
  name: MonitorName
  candidates(db: Db, after: string | null, services: MonitorServices): Promise<string[]>
  evaluate(db: Db, userIds: readonly string[], services: MonitorServices, now: Date): Promise<Verdicts>
}

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

/**
 * Evaluate, store, publish: the same path for one user after a write, a sweep's page and the
 * drainer's. What each user's marks and applied evaluations were is read before their data; the
 * alerts are stored only if no other evaluation of the user was applied since (it may have read
 * newer data), and the marks cleared only where no write came in meanwhile.
 */
async function runMonitor(monitor: Monitor, context: TaskContext, userIds: readonly string[]): Promise<MonitorResult> {
  const services = servicesOf(context)
  const seen = await readSeen(context.db, monitor.name, userIds)
  const { evaluations, degraded } = await monitor.evaluate(context.db, userIds, services, new Date())
  let overtaken: string[] = []
  const applied = await applyEvaluations(context.db, evaluations, async (trx, users) => {
    const current = await settleSeen(trx, monitor.name, seen, users)
    overtaken = users.filter((userId) => !current.has(userId))
    return current
  })
  // Overtaken by another evaluation, which may have read older data: look again now rather than
  // wait for the drainer (their marks were left in place either way).
  if (overtaken.length > 0) {
    const evaluate = evaluationTrigger(services.enqueue, context.logger)
    for (const userId of overtaken) evaluate(monitor.name, userId)
  }
  let alertsCreated = 0
  let alertsResolved = 0
  for (const changes of applied.values()) {
    alertsCreated += changes.created.length
    alertsResolved += changes.resolved.length
  }
  // Each user's events stay in order; users do not wait on one another.
  await Promise.all(
    [...applied].map(([userId, changes]) =>
      publishApplied(services.bus, userId, changes).catch((error) =>
        context.logger.warn(
          { err: (error as Error).message },
          'alert stored but not published; clients see it on reconnect',
        ),
      ),
    ),
  )
  return { usersEvaluated: userIds.length, alertsCreated, alertsResolved, degraded }
}

/** `monitor.<name>.evaluate {userId}`: enqueued on each relevant write, deduplicated per user. */
export const evaluateTask =
  (monitor: Monitor): TaskHandler<{ userId?: unknown }, MonitorResult> =>
  async (payload, context) => {
    const userId = payload?.userId
    if (!isUuid(userId)) throw new UnrecoverableError('userId must be a user id')
    return runMonitor(monitor, context, [userId])
  }

/**
 * `monitor.<name>.sweep`: the periodic safety net. Walks the candidates in keyset pages (one query
 * each), records a monitor run, and fans the pages out as jobs that any worker can take.
 */
export const sweepTask =
  (monitor: Monitor): TaskHandler<unknown, { runId: string; pages: number; users: number }> =>
  async (_payload, context) => {
    const services = servicesOf(context)
    const orphaned = await failOrphanedRuns(context.db, monitor.name)
    if (orphaned > 0) context.logger.warn({ orphaned }, 'closed sweep runs whose worker died as failed')
    const runId = await startRun(context.db, monitor.name)
    try {
      const pages: string[][] = []
      for (let after: string | null = null; ; ) {
        const userIds = await monitor.candidates(context.db, after, services)
        if (userIds.length > 0) pages.push(userIds)
        if (userIds.length < SWEEP_PAGE_SIZE) break
        after = userIds.at(-1) ?? null
      }
      // The total is known before any page runs, so the last page to finish can close the run.
      await setPages(context.db, runId, pages.length)
      await Promise.all(
        pages.map((userIds, page) => services.enqueue(`monitor.${monitor.name}.page`, { runId, page, userIds })),
      )
      return { runId, pages: pages.length, users: pages.reduce((sum, page) => sum + page.length, 0) }
    } catch (error) {
      await failRun(context.db, runId, (error as Error).message).catch(() => undefined)
      throw error
    }
  }

/** `monitor.<name>.page {runId?, page?, userIds}`: one page of a sweep (counted in its run), or of the drainer. */
export const pageTask =
  (monitor: Monitor): TaskHandler<{ runId?: unknown; page?: unknown; userIds?: unknown }, MonitorResult> =>
  async (payload, context) => {
    const { runId, page, userIds } = payload ?? {}
    const ofRun = runId !== undefined || page !== undefined
    if (!Array.isArray(userIds) || !userIds.every(isUuid)) throw new UnrecoverableError('a page needs userIds')
    if (ofRun && (typeof runId !== 'string' || !Number.isInteger(page))) {
      throw new UnrecoverableError("a sweep's page needs runId and its page number")
    }
    const result = await runMonitor(monitor, context, userIds as string[])
    if (ofRun) await recordPage(context.db, runId as string, page as number, result)
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
export const drainTask: TaskHandler<unknown, Record<MonitorName, number>> = async (_payload, context) => {
  const services = servicesOf(context)
  const drained = {} as Record<MonitorName, number>
  for (const name of MONITOR_NAMES) {
    const userIds = await waitingUsers(context.db, name, services.drainGraceMs, DRAIN_PAGE_SIZE)
    drained[name] = userIds.length
    if (userIds.length > 0) {
      await services.enqueue(`monitor.${name}.page`, { userIds }, { deduplication: { id: `drain:${name}` } })
    }
  }
  return drained
}
