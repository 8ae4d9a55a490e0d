import type { Bus } from '../../../backend/backend.js'
import type { Db } from '../../../db/database.js'
import type { CommitWrite } from '../../writes.js'

/** What every /v1 resource's routes are built from. */
export interface RouteDeps {
  db: Db
  /** For events a request itself causes (a service resolving its alerts). */
  bus: Bus
  /** Every write with consequences goes through it: one transaction with its marks and idempotent response. */
  commit: CommitWrite
}
