import { messageOf } from './error-message.js'

// What node-postgres, ioredis and Node report when a dependency cannot be reached or went away,
// and what PostgreSQL answers when the database refuses sessions (restarting, shutting down,
// connections not allowed, database gone, too many clients).
const OUTAGE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03',
  '3D000',
  '53300',
  // PostgreSQL's connection-exception class
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
])
const OUTAGE_MESSAGES = [
  /timeout exceeded when trying to connect/i,
  /Connection terminated/i,
  /connect ECONNREFUSED/i,
  // A transaction whose connection died: the ROLLBACK Kysely then sends fails with this, and that
  // error replaces the first one.
  /is not queryable/i,
  // 55000 (ALLOW_CONNECTIONS false) by its message: the code alone also means programming errors.
  /is not currently accepting connections/i,
  // ioredis with Redis away: a fail-fast connection (no offline queue), or one closed meanwhile.
  /Stream isn't writeable and enableOfflineQueue options is false/i,
  /Connection is closed/i,
]

/** True when `error` says a dependency is unreachable, not that PAM or the request is wrong. */
export function isOutageError(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const code = (error as { code?: unknown }).code
  return (typeof code === 'string' && OUTAGE_CODES.has(code)) || OUTAGE_MESSAGES.some((p) => p.test(error.message))
}

/**
 * How the reason of a job that failed because PostgreSQL or Redis could not be reached begins:
 * operator alerts tell of the outage once (store_unavailable), and of such jobs only those whose
 * work does not come back by itself (operations/operator-conditions.ts).
 */
export const STORE_UNAVAILABLE = 'store unavailable: '

/** A job's error, its message marked when it was an outage (the cause kept). */
export function markOutage(error: unknown): unknown {
  if (!isOutageError(error) || messageOf(error).startsWith(STORE_UNAVAILABLE)) return error
  return new Error(`${STORE_UNAVAILABLE}${messageOf(error)}`, { cause: error })
}
