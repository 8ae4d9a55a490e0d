import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import type { Config } from '../config.js'
import type { Db } from '../db/database.js'
import type { Queues } from '../jobs/inspection.js'
import type { Schedule } from '../jobs/schedules.js'
import type { Logger } from '../logger.js'
import { type AiBudgetReader, gatherSnapshot } from './operations-snapshot-repository.js'
import { decide, type Message, messageText } from './operator-alert-decisions.js'
import { conditionStates, saveConditionStates } from './operator-alert-repository.js'
import type { OperatorChannel } from './operator-channels.js'
import { firingConditions } from './operator-conditions.js'

export interface OperatorWatchDeps {
  db: Db
  queues: Queues
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
 * One check: under a transaction-scoped advisory lock, so that however many schedulers run, one
 * of them checks at a time and the next one reads what it stored. A message that reaches no
 * channel leaves its condition's state as it was: the next check tries again.
 */
export async function checkOperatorConditions(deps: OperatorWatchDeps, watchingSince: Date): Promise<Message[]> {
  const log = deps.logger
  return deps.db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ locked: boolean }>`
      select pg_try_advisory_xact_lock(hashtext('pam.operator-alerts')) as locked`.execute(trx)
    if (!rows[0]?.locked) return []
    const snapshot = await gatherSnapshot({
      db: trx,
      queues: deps.queues,
      schedules: deps.schedules,
      watchingSince,
      aiBudget: deps.aiBudget,
    })
    const previous = await conditionStates(trx, new Date(snapshot.now.getTime() - deps.config.OPS_ALERT_COOLDOWN_MS))
    const firing = firingConditions(snapshot, { providerFailureRatio: deps.config.OPS_PROVIDER_FAILURE_RATIO })
    const decision = decide(firing, previous, snapshot.now, deps.config.OPS_ALERT_COOLDOWN_MS)
    const sent: Message[] = []
    const undelivered = new Set<string>()
    for (const message of decision.messages) {
      const text = messageText(message, deps.config.ENVIRONMENT)
      const results = await Promise.allSettled(deps.channels.map((channel) => channel.send(text)))
      results.forEach((result, index) => {
        if (result.status === 'rejected') {
          log.warn(
            {
              channel: deps.channels[index]?.name,
              condition: message.condition,
              err: (result.reason as Error).message,
            },
            'operator alert not delivered on this channel',
          )
        }
      })
      if (results.some((result) => result.status === 'fulfilled')) {
        sent.push(message)
        log.info({ condition: message.condition, change: message.change }, 'operator alert sent')
      } else undelivered.add(message.condition)
    }
    await saveConditionStates(
      trx,
      decision.states.filter((state) => !undelivered.has(state.condition)),
    )
    return sent
  })
}

/** Checks every OPS_ALERT_CHECK_INTERVAL_MS until stopped; a check that fails is logged and retried next time. */
export function startOperatorWatch(deps: OperatorWatchDeps): OperatorWatch {
  const stopping = new AbortController()
  const watchingSince = new Date()
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      await checkOperatorConditions(deps, watchingSince).catch((error) =>
        deps.logger.warn({ err: (error as Error).message }, 'operator conditions not checked; retrying'),
      )
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
