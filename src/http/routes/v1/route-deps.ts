import type { Bus } from '../../../backend/backend.js'
import type { Db } from '../../../db/database.js'
import type { Evaluate } from '../../evaluations.js'

/** What every /v1 resource's routes are built from. */
export interface RouteDeps {
  db: Db
  /** For events a request itself causes (a service resolving its alerts). */
  bus: Bus
  evaluate: Evaluate
}
