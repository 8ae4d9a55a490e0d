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
]

/** True when `error` says a dependency is unreachable, not that PAM or the request is wrong. */
export function isOutageError(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const code = (error as { code?: unknown }).code
  return (typeof code === 'string' && OUTAGE_CODES.has(code)) || OUTAGE_MESSAGES.some((p) => p.test(error.message))
}
