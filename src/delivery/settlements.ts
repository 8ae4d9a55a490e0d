import { setTimeout as sleep } from 'node:timers/promises'
import type { Db } from '../platform/db/database.js'
import { messageOf } from '../platform/errors/error-message.js'
import type { Logger } from '../platform/logger.js'
import { type Settlement, settleDelivery } from './delivery-repository.js'

const FIRST_RETRY_MS = 50
// While the database is away, asking once a second costs nothing; it answers again within that.
const RETRY_MAX_MS = 1_000

/**
 * What became of the deliveries this worker claimed, recorded for sure while it lives. A worker
 * that sent an email and then finds PostgreSQL gone (a restart, a failover) must not lose that
 * knowledge: the row still says `sending`, claimed by this worker, and no one else takes a claim
 * whose worker is alive (delivery-repository.ts). So an outcome that cannot be written is kept
 * here and written in the background, with backoff, as soon as the database answers; the job
 * goes on. On a graceful stop the worker waits for them (up to its grace) before its heartbeat
 * goes: only what is still unwritten then, like a send interrupted by a kill, can be sent twice.
 */
export interface SettlementKeeper {
  /** The worker (its heartbeat id) whose claims these are. */
  readonly holder: string
  /** Records an outcome now, or keeps it and records it once the database answers. Never throws. */
  record(deliveryId: string, settlement: Settlement): Promise<void>
  /** Waits up to `timeoutMs` for every kept outcome to be written; says how many were not. */
  flush(timeoutMs: number): Promise<number>
}

export function createSettlementKeeper(db: Db, holder: string, logger: Logger): SettlementKeeper {
  const log = logger.child({ component: 'deliveries' })
  const kept = new Map<string, Settlement>()
  let writing: Promise<void> | undefined
  let stopping = false

  const write = async (deliveryId: string, settlement: Settlement) => {
    const recorded = await settleDelivery(db, deliveryId, holder, settlement)
    // Taken over meanwhile (this worker looked dead to another: no heartbeat for a while), and the
    // other worker sent it too. The one way a retry duplicates a send; rare, and worth seeing.
    if (!recorded && settlement.status === 'sent') {
      log.warn({ deliveryId }, 'a delivery this worker sent was taken over and sent again before it was recorded')
    }
  }

  const writeKept = async () => {
    for (let wait = FIRST_RETRY_MS; kept.size > 0 && !stopping; wait = Math.min(wait * 2, RETRY_MAX_MS)) {
      await sleep(wait)
      for (const [deliveryId, settlement] of kept) {
        try {
          await write(deliveryId, settlement)
          kept.delete(deliveryId)
        } catch {
          break // still away: the next round tries again
        }
      }
    }
    if (kept.size === 0) log.info('every delivery outcome kept through the outage is recorded')
    writing = undefined
  }

  return {
    holder,
    async record(deliveryId, settlement) {
      try {
        await write(deliveryId, settlement)
      } catch (error) {
        if (kept.size === 0) {
          log.warn({ err: messageOf(error) }, 'delivery outcomes cannot be recorded now; kept until they can')
        }
        kept.set(deliveryId, settlement)
        writing ??= writeKept()
      }
    },
    async flush(timeoutMs) {
      const deadline = Date.now() + timeoutMs
      while (kept.size > 0 && Date.now() < deadline) await sleep(Math.min(100, Math.max(1, deadline - Date.now())))
      stopping = true
      await writing
      if (kept.size > 0) {
        log.error(
          { deliveries: [...kept.keys()] },
          'deliveries sent or tried but not recorded before stopping: the worker that takes their claims over sends them again',
        )
      }
      return kept.size
    },
  }
}
