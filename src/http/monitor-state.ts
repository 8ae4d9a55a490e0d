import { type ChannelsConfigured, decideChannels } from '../delivery/channel-decisions.js'
import { CHANNELS, type Channel, type Decision } from '../delivery/delivery-decision.js'
import {
  type DeliveryView,
  deliveriesOf,
  deliveryContexts,
  travellerDeliveryOf,
} from '../delivery/delivery-repository.js'
import { hourlyEmailCap } from '../delivery/email-caps.js'
import type { AlertDraft } from '../monitoring/alerts/alert-draft.js'
import { type Alert, currentAlertOf } from '../monitoring/alerts/alert-repository.js'
import { evaluationTimes } from '../monitoring/evaluation-mark-repository.js'
import type { Monitor, StateInput } from '../monitoring/monitor.js'
import type { MonitorName, Thresholds } from '../monitoring/registry.js'
import { type TravellerThreshold, travellerThresholds } from '../monitoring/thresholds/threshold-repository.js'
import type { Db } from '../platform/db/database.js'
import type { AlertPriority } from '../platform/db/schema.js'

/** What the state of a subject is read with: the deployment's thresholds and channels, as the worker has them. */
export interface MonitorStateDeps {
  db: Db
  thresholds: Thresholds
  channels: ChannelsConfigured
  /** EMAIL_ALERTS_PER_HOUR */
  emailCap: number
}

/** One channel's answer: what a delivery job would decide now, and what was recorded for the current alert. */
export interface ChannelState {
  channel: Channel
  decision: Decision['action'] | null
  reason: string | null
  until: string | null
  delivery: DeliveryView | null
}

export interface MonitorState {
  kind: string
  monitor: MonitorName
  subject: string
  inputs: StateInput[]
  thresholds: TravellerThreshold[]
  result: { condition: boolean; priority: AlertPriority | null; title: string | null; threshold: number | null }
  openAlert: Alert | null
  lastEvaluation: { evaluatedAt: string | null; pendingSince: string | null; ruleVersion: number }
  channels: ChannelState[]
}

const channelState = (channel: Channel, decision: Decision | null, delivery: DeliveryView | null): ChannelState => ({
  channel,
  decision: decision?.action ?? null,
  reason: decision ? ('reason' in decision ? decision.reason : null) : 'no condition: nothing to deliver',
  until: decision?.action === 'defer' ? decision.until.toISOString() : null,
  delivery,
})

/**
 * Per channel, the decision for the condition's current alert (a dismissed one is suppressed as
 * dismissed), else for the alert the rule wants open (none: no condition), and what was recorded
 * for the current alert.
 */
async function channelStates(
  deps: MonitorStateDeps,
  userId: string,
  openAlert: Alert | undefined,
  draft: AlertDraft | undefined,
  now: Date,
): Promise<ChannelState[]> {
  const emails = { now, emailCap: deps.emailCap }
  const [context] = openAlert ? await deliveryContexts(deps.db, [openAlert.id], emails) : []
  const wanted = draft && {
    ...draft,
    userId,
    readAt: null,
    dismissedAt: null,
    resolvedAt: null,
    expiresAt: null,
    snoozedUntil: null,
  }
  const alert = context?.alert ?? wanted
  if (!alert) return CHANNELS.map((channel) => channelState(channel, null, null))
  const traveller = context ?? (await travellerDeliveryOf(deps.db, userId, emails))
  const recorded = context ? await deliveriesOf(deps.db, userId, context.alert.id) : undefined
  const decisions = decideChannels(alert, traveller, deps.channels, hourlyEmailCap(deps.emailCap, now), now)
  return CHANNELS.map((channel) =>
    channelState(channel, decisions[channel], recorded?.find((d) => d.channel === channel) ?? null),
  )
}

/**
 * Why (or why not) for one subject of a traveller: the monitor's own snapshot and pure rule with
 * the traveller's thresholds, its current alert, its last evaluation, and per channel the delivery
 * decision the real decision function makes now from what a delivery job reads (for the open
 * alert; else for the alert the rule wants open). Undefined: the subject is not theirs.
 */
export async function monitorState(
  deps: MonitorStateDeps,
  monitor: Monitor,
  userId: string,
  subjectId: string,
  now: Date,
): Promise<MonitorState | undefined> {
  const { db } = deps
  if (!monitor.explain) return undefined
  const thresholds = await travellerThresholds(db, monitor, userId, deps.thresholds.get(monitor.name))
  const state = await monitor.explain.state(db, userId, subjectId, thresholds.values, now)
  if (!state) return undefined
  const [openAlert, times] = await Promise.all([
    currentAlertOf(db, userId, monitor.alertKind, state.condition),
    evaluationTimes(db, monitor.name, userId),
  ])
  const draft = state.evaluation.drafts[0]
  const channels = await channelStates(deps, userId, openAlert, draft, now)
  return {
    kind: monitor.alertKind,
    monitor: monitor.name,
    subject: subjectId,
    inputs: state.inputs,
    thresholds: thresholds.listed,
    result: {
      condition: draft !== undefined,
      priority: draft?.priority ?? null,
      title: draft?.title ?? null,
      threshold: draft?.data.threshold ?? null,
    },
    openAlert: openAlert ?? null,
    lastEvaluation: {
      evaluatedAt: times.evaluatedAt?.toISOString() ?? null,
      pendingSince: times.pendingSince?.toISOString() ?? null,
      ruleVersion: monitor.ruleVersion,
    },
    channels,
  }
}
