import { UnrecoverableError } from 'bullmq'
import { wantsModelText } from '../../ai/alert-text.js'
import { type AlertTextOutcome, rewriteAlertText } from '../../ai/alert-text-writer.js'
import { createDueDailyBriefings, stalePendingBriefings } from '../../ai/briefings/briefing-repository.js'
import { writeBriefing } from '../../ai/briefings/briefing-writer.js'
import { RetryLater } from '../../ai/text-generator.js'
import { type Alert, alerts } from '../../monitoring/alerts/alert-repository.js'
import { publishAlertEvents, updateAlertText } from '../../monitoring/alerts/alert-store.js'
import { messageOf } from '../../platform/errors/error-message.js'
import type { Logger } from '../../platform/logger.js'
import { countUnreadableZones } from '../../travellers/users/time-zone-repository.js'
import { alertTextJobId, briefingJobId } from '../ai-job-ids.js'
import type { NoPayload, PayloadOf } from '../payloads.js'
import { DelayJob, type MonitorServices, type TaskContext, type TaskHandler } from '../task.js'

// A briefing still pending this long lost its job: the sweep queues it again.
const STALE_BRIEFING_MS = 10 * 60_000

function servicesOf(context: TaskContext): MonitorServices {
  if (!context.services) throw new UnrecoverableError('this worker was started without its services')
  return context.services
}

/** A provider's retry-after becomes a delay of the job; anything else fails (and is retried) as it is. */
async function delayedOnRetryLater<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if (error instanceof RetryLater) throw new DelayJob(error.delayMs)
    throw error
  }
}

/**
 * Queues the AI rewrite of the new alerts that get one (urgent ones and suggestions). Called once
 * the alerts are published; a failure to queue leaves their template text, which is complete.
 */
export async function queueAlertTexts(
  enqueue: MonitorServices['enqueue'],
  logger: Logger,
  userId: string,
  created: readonly Alert[],
): Promise<void> {
  for (const alert of created.filter(wantsModelText)) {
    await enqueue('ai.alert-text', { userId, alertId: alert.id }, { jobId: alertTextJobId(alert.id) }).catch((error) =>
      logger.warn({ alertId: alert.id, err: messageOf(error) }, 'alert text not queued; the template stays'),
    )
  }
}

/** `ai.alert-text {userId, alertId}`: the fast model rewrites one alert's title and body. */
export const alertTextTask: TaskHandler<PayloadOf<'ai.alert-text'>, AlertTextOutcome> = async (
  { userId, alertId },
  context,
) => {
  const services = servicesOf(context)
  return delayedOnRetryLater(() =>
    rewriteAlertText(
      {
        db: context.db,
        generate: services.generate,
        async loadAlert(user, id) {
          const alert = await alerts.get(context.db, user, id)
          return alert && { ...alert, open: alert.resolvedAt === null && alert.dismissedAt === null }
        },
        async storeText(user, id, text, source) {
          const events = await updateAlertText(context.db, user, id, { ...text, textSource: source })
          await publishAlertEvents(services.bus, events)
          return events.length > 0
        },
      },
      { userId, alertId },
      { retriesLeft: context.retriesLeft, signal: context.signal },
    ),
  )
}

/** `ai.briefing {briefingId}`: writes one pending briefing. */
export const briefingTask: TaskHandler<PayloadOf<'ai.briefing'>, { written: boolean; textSource?: string }> = async (
  { briefingId },
  context,
) => {
  const services = servicesOf(context)
  return delayedOnRetryLater(() =>
    writeBriefing({ db: context.db, generate: services.generate }, briefingId, {
      retriesLeft: context.retriesLeft,
      signal: context.signal,
    }),
  )
}

/**
 * `ai.briefings.sweep` (hourly, schedule pam-briefings): creates the daily briefing of every
 * active traveller whose local morning hour it is (one statement) and queues each, plus any
 * briefing whose job was lost.
 */
export const briefingSweepTask: TaskHandler<NoPayload, { queued: number; unreadableZones: number }> = async (
  _payload,
  context,
) => {
  const services = servicesOf(context)
  const due = await createDueDailyBriefings(context.db, services.briefingLocalHour)
  // Left out of the statement above rather than failing it for everyone; counted, never named.
  const unreadableZones = await countUnreadableZones(context.db)
  if (unreadableZones > 0) {
    context.logger.warn(
      { travellers: unreadableZones },
      'travellers whose stored time zone cannot be read get no daily briefing',
    )
  }
  const stale = await stalePendingBriefings(context.db, STALE_BRIEFING_MS)
  for (const briefing of [...due, ...stale]) {
    await services.enqueue(
      'ai.briefing',
      { briefingId: briefing.id, userId: briefing.userId },
      { jobId: briefingJobId(briefing.id) },
    )
  }
  context.logger.info({ created: due.length, requeued: stale.length }, 'daily briefings queued')
  return { queued: due.length + stale.length, unreadableZones }
}
