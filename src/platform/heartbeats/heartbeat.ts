import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { Db } from '../db/database.js'
import { messageOf } from '../errors/error-message.js'
import type { Logger } from '../logger.js'
import { recordBeat, removeBeat } from './heartbeat-repository.js'

export const HEARTBEAT_INTERVAL_MS = 10_000
// After a beat failed (the database away), the next comes this soon: a process silent for the
// stale window looks dead to others (its delivery claims are taken over), so it beats again as
// soon as the database is back rather than at its next interval.
const RETRY_MS = 1_000

export interface HeartbeatHandle {
  id: string
  stop(): Promise<void>
}

/**
 * Records that this process is alive every `intervalMs`. A beat that fails (database down) is
 * logged and tried again a second later; a clean stop deletes the row so readiness reacts at once.
 */
export async function startHeartbeat(
  db: Db,
  logger: Logger,
  info: { role: string; queues: readonly string[]; concurrency: number; intervalMs?: number },
): Promise<HeartbeatHandle> {
  const id = `${info.role}-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`
  const startedAt = new Date()
  let failing = false
  let retry: NodeJS.Timeout | undefined
  let stopped = false
  const beat = async (): Promise<void> => {
    try {
      await recordBeat(db, {
        id,
        role: info.role,
        host: hostname(),
        pid: process.pid,
        queues: [...info.queues],
        concurrency: info.concurrency,
        startedAt,
      })
      if (failing) logger.info({ heartbeatId: id }, 'heartbeat recorded again')
      failing = false
    } catch (error) {
      if (!failing) logger.warn({ heartbeatId: id, err: messageOf(error) }, 'heartbeat not recorded')
      failing = true
      if (!stopped) {
        retry ??= setTimeout(() => {
          retry = undefined
          current = beat()
        }, RETRY_MS)
        retry.unref()
      }
    }
  }
  let current = beat()
  const timer = setInterval(() => {
    current = beat()
  }, info.intervalMs ?? HEARTBEAT_INTERVAL_MS)
  timer.unref()
  // The first beat is in before the caller reports "started", so readiness agrees at once.
  await current
  return {
    id,
    async stop() {
      stopped = true
      clearInterval(timer)
      clearTimeout(retry)
      await current
      await removeBeat(db, id).catch((error) =>
        logger.warn({ err: messageOf(error) }, 'heartbeat row not removed; it expires on its own'),
      )
    },
  }
}
