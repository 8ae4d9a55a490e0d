import type pg from 'pg'

/**
 * Makes every client of `pool` report a lost server to `report` instead of crashing the process.
 * pg-pool listens only to its idle clients: a checked-out client (a transaction between two
 * statements, a LISTEN connection) that loses its server emits `error` with no listener, which
 * throws. Each client is given its own listener the moment the pool creates it.
 */
export function reportLostConnections(pool: pg.Pool, report: (error: Error) => void): void {
  pool.on('connect', (client) => client.on('error', report))
  // The pool re-emits an idle client's error; that client has reported it already.
  pool.on('error', () => undefined)
}
