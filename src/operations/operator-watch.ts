import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import type { Queues } from '../jobs/inspection.js'
import type { Schedule } from '../jobs/schedules.js'
import type { Config } from '../platform/config.js'
import type { Db } from '../platform/db/database.js'
import { messageOf } from '../platform/errors/error-message.js'
import { isOutageError } from '../platform/errors/outage-errors.js'
import type { Logger } from '../platform/logger.js'
import { type AiBudgetReader, gatherSnapshot } from './operations-snapshot-repository.js'
import { type Decision, decide, type Message, messageText } from './operator-alert-decisions.js'
import { conditionStates, saveConditionStates } from './operator-alert-repository.js'
import type { OperatorChannel } from './operator-channels.js'
import { type FiringCondition, firingConditions, type StoreOutage, storeUnavailable } from './operator-conditions.js'

export interface OperatorWatchDeps {
  db: Db
  queues: Queues
  /** Where the queues live: Redis, or PostgreSQL in Postgres-only mode. */
  queueStore: StoreOutage['store']
  schedules: readonly Schedule[]
  config: Pick<
    Config,
    'ENVIRONMENT' | 'OPS_ALERT_COOLDOWN_MS' | 'OPS_ALERT_CHECK_INTERVAL_MS' | 'OPS_PROVIDER_FAILURE_RATIO'
  >
  channels: readonly OperatorChannel[]
  logger: Logger
  /** The AI layer's daily budget, once it has a ledger. */
  aiBudget?: AiBudgetReader
}

export interface OperatorWatch {
  stop(): Promise<void>
}

/**
 * An outage of PostgreSQL as one watch saw it: raised while the database was away (nothing could
 * be stored then), recorded and resolved by the first check that reaches it again.
 */
export interface PostgresOutage {
  condition: FiringCondition
  raisedAt: Date
  /** When its "raised" message went out; null: not announced (no channel took it, or within the cooldown). */
  notifiedAt: Date | null
}

/** Sends a message on every channel; true when one took it. */
async function announce(deps: OperatorWatchDeps, message: Message): Promise<boolean> {
  const text = messageText(message, deps.config.ENVIRONMENT)
  const results = await Promise.allSettled(deps.channels.map((channel) => channel.send(text)))
  results.forEach((result, index) => {
    if (result.status === 'rejected') {
      deps.logger.warn(
        { channel: deps.channels[index]?.name, condition: message.condition, err: messageOf(result.reason) },
        'operator alert not delivered on this channel',
      )
    }
  })
  const sent = results.some((result) => result.status === 'fulfilled')
  if (sent) deps.logger.info({ condition: message.condition, change: message.change }, 'operator alert sent')
  return sent
}

/**
 * One check: under a transaction-scoped advisory lock, so that however many schedulers run, one
 * of them checks at a time and the next one reads what it stored. A message that reaches no
 * channel leaves its condition's state as it was: the next check tries again. A PostgreSQL outage
 * this watch raised while the database was away is stored with its resolution here.
 */
export async function checkOperatorConditions(
  deps: OperatorWatchDeps,
  watchingSince: Date,
  ended?: PostgresOutage,
): Promise<Message[]> {
  return deps.db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ locked: boolean; now: Date }>`
      select pg_try_advisory_xact_lock(hashtext('pam.operator-alerts')) as locked, now() as now`.execute(trx)
    const locked = rows[0]?.locked === true
    if (!locked && !ended) return []
    let decision: Decision = { messages: [], states: [] }
    if (locked) {
      const snapshot = await gatherSnapshot({
        db: trx,
        queues: deps.queues,
        queueStore: deps.queueStore,
        schedules: deps.schedules,
        watchingSince,
        aiBudget: deps.aiBudget,
      })
      const since = new Date(snapshot.now.getTime() - deps.config.OPS_ALERT_COOLDOWN_MS)
      const firing = firingConditions(snapshot, { providerFailureRatio: deps.config.OPS_PROVIDER_FAILURE_RATIO })
      decision = decide(firing, await conditionStates(trx, since), snapshot.now, deps.config.OPS_ALERT_COOLDOWN_MS)
    }
    if (ended) {
      const { key, kind, summary } = ended.condition
      if (ended.notifiedAt) decision.messages.push({ condition: key, kind, change: 'resolved', summary })
      decision.states.push({
        condition: key,
        kind,
        status: 'resolved',
        summary,
        raisedAt: ended.raisedAt,
        resolvedAt: rows[0]?.now ?? new Date(),
        notifiedAt: ended.notifiedAt,
      })
    }
    const sent: Message[] = []
    const undelivered = new Set<string>()
    for (const message of decision.messages) {
      if (await announce(deps, message)) sent.push(message)
      else undelivered.add(message.condition)
    }
    await saveConditionStates(
      trx,
      decision.states.filter((state) => !undelivered.has(state.condition)),
    )
    return sent
  })
}

/**
 * Checks every OPS_ALERT_CHECK_INTERVAL_MS until stopped; a check that fails is logged and retried
 * next time. A check that fails because PostgreSQL does not answer raises store_unavailable at
 * once, on the channels alone (there is nowhere to store it, and no other scheduler to agree with:
 * each raises its own), once per outage and at most once per cooldown; the first check that
 * reaches PostgreSQL again resolves it.
 */
export function startOperatorWatch(deps: OperatorWatchDeps): OperatorWatch {
  const stopping = new AbortController()
  const watchingSince = new Date()
  let outage: PostgresOutage | undefined
  let lastAnnounced = 0

  const raise = async () => {
    const now = new Date()
    outage ??= {
      condition: storeUnavailable({ store: 'postgres', since: now }),
      raisedAt: now,
      notifiedAt: null,
    }
    if (outage.notifiedAt || now.getTime() - lastAnnounced < deps.config.OPS_ALERT_COOLDOWN_MS) return
    const { key, kind, summary } = outage.condition
    if (await announce(deps, { condition: key, kind, change: 'raised', summary })) {
      outage.notifiedAt = now
      lastAnnounced = now.getTime()
    }
  }

  const loop = (async () => {
    while (!stopping.signal.aborted) {
      try {
        await checkOperatorConditions(deps, watchingSince, outage)
        outage = undefined
      } catch (error) {
        if (isOutageError(error)) await raise()
        else deps.logger.warn({ err: messageOf(error) }, 'operator conditions not checked; retrying')
      }
      await sleep(deps.config.OPS_ALERT_CHECK_INTERVAL_MS, undefined, { signal: stopping.signal }).catch(
        () => undefined,
      )
    }
  })()
  return {
    async stop() {
      stopping.abort()
      await loop
    },
  }
}
