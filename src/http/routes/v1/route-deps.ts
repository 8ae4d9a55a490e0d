import type { Db } from '../../../db/database.js'
import type { Evaluate } from '../../evaluations.js'

/** What every /v1 resource's routes are built from. */
export interface RouteDeps {
  db: Db
  evaluate: Evaluate
}
