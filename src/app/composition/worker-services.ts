import { Breakers } from '../../ai/breaker.js'
import { configuredTiers } from '../../ai/models.js'
import { createTextGenerator, type TextGenerator } from '../../ai/text-generator.js'
import { servesPurpose } from '../../ai/tiers.js'
import { createEmailChannel } from '../../delivery/channels/email-channel.js'
import { createPushChannel } from '../../delivery/channels/push-channel.js'
import type { DeliveryServices } from '../../delivery/delivery-services.js'
import { createSettlementKeeper } from '../../delivery/settlements.js'
import { confirmationLinks, unsubscribeLinks } from '../../delivery/unsubscribe-link.js'
import { deliveryTrigger } from '../../jobs/delivery-trigger.js'
import { evaluationTrigger } from '../../jobs/evaluation-trigger.js'
import type { Producer } from '../../jobs/producer.js'
import type { MonitorServices } from '../../jobs/task.js'
import { monitorThresholds } from '../../monitoring/registry.js'
import {
  aiCaps,
  aiPrices,
  type Config,
  publicUrl,
  pushAllowsPrivateEndpoints,
  smtpSettings,
} from '../../platform/config.js'
import type { Db } from '../../platform/db/database.js'
import type { Logger } from '../../platform/logger.js'
import { type Metrics, monitorObservers } from '../../platform/metrics.js'
import type { Deps } from './deps.js'

/** How long an alert's own deliver job has before notify.drain queues another. */
const DRAIN_GRACE_MS = 15_000

/** What a worker's tasks run with, built from the deployment's dependencies. */
export interface WorkerServices {
  services: MonitorServices
  delivery: DeliveryServices & { close(): void }
}

/**
 * Everything a worker's tasks use, from the composition root's dependencies: the monitors'
 * providers, thresholds and observers, the text generator, and the delivery channels with their
 * claims taken in the name of `holder` (the worker's heartbeat id).
 */
export function workerServices(deps: Deps, enqueue: Producer['enqueue'], holder: string): WorkerServices {
  const tiers = configuredTiers(deps.config)
  return {
    services: {
      bus: deps.backend.bus,
      places: deps.places,
      weather: deps.weather,
      thresholds: monitorThresholds(deps.config),
      drainGraceMs: deps.config.EVALUATION_DRAIN_GRACE_MS,
      enqueue,
      evaluate: evaluationTrigger(deps.backend, enqueue, deps.logger),
      observers: monitorObservers(deps.metrics),
      generate: buildTextGenerator(deps.config, deps),
      rewritesAlertTexts: servesPurpose('alert-text', tiers),
      briefingLocalHour: deps.config.BRIEFING_LOCAL_HOUR,
    },
    delivery: buildDeliveryServices(deps, enqueue, holder),
  }
}

/** The text generator as this deployment's configuration describes it (built once per worker). */
export function buildTextGenerator(config: Config, deps: { db: Db; logger: Logger; metrics: Metrics }): TextGenerator {
  return createTextGenerator({
    ...deps,
    tiers: configuredTiers(config),
    prices: aiPrices(config),
    caps: aiCaps(config),
    breakers: new Breakers(),
    timeoutMs: config.AI_TIMEOUT_MS,
  })
}

/** The channels as configured: email with SMTP_URL (or SMTP_SERVER), push with VAPID keys. */
export function buildDeliveryServices(
  deps: Pick<Deps, 'config' | 'secrets' | 'metrics' | 'logger' | 'db'>,
  enqueue: Producer['enqueue'],
  holder: string,
  options: { now?: () => Date; drainGraceMs?: number } = {},
): DeliveryServices & { close(): void } {
  const smtp = smtpSettings(deps.config)
  const email = smtp ? createEmailChannel(smtp, deps.config.EMAIL_FROM) : undefined
  const vapid = deps.secrets.vapid
  const push = vapid
    ? createPushChannel(vapid, deps.config.VAPID_SUBJECT, { allowPrivate: pushAllowsPrivateEndpoints(deps.config) })
    : undefined
  return {
    email,
    push,
    links: unsubscribeLinks(deps.secrets.internalToken, publicUrl(deps.config)),
    confirmations: confirmationLinks(deps.secrets.internalToken, publicUrl(deps.config)),
    emailCap: deps.config.EMAIL_ALERTS_PER_HOUR,
    deliveries: deps.metrics.deliveries,
    now: options.now ?? (() => new Date()),
    drainGraceMs: options.drainGraceMs ?? DRAIN_GRACE_MS,
    enqueueDeliveries: deliveryTrigger(enqueue, deps.logger).enqueueDeliveries,
    settlements: createSettlementKeeper(deps.db, holder, deps.logger),
    close: () => {
      email?.close()
      push?.close()
    },
  }
}
