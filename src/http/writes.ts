import type { FastifyRequest } from 'fastify'
import type { Evaluate } from '../jobs/evaluation-trigger.js'
import type { InputTable } from '../monitoring/monitor.js'
import { type MonitorName, monitorsReading } from '../monitoring/registry.js'
import type { Db } from '../platform/db/database.js'
import type { Reads } from '../platform/db/reads.js'
import { completeKey } from '../platform/idempotency-repository.js'
import { HttpError } from './errors.js'

export interface WriteOptions<T> {
  /**
   * The monitors' input tables this write changes: the evaluations of the monitors reading them
   * (`monitorsReading`) are asked for once it commits. Its marks need no call: the tables'
   * triggers write them with the rows.
   */
  writes: readonly InputTable[]
  /**
   * Monitors whose verdict the write changes without touching an input table (a traveller's own
   * thresholds): the write marks them itself (markForEvaluation), and their evaluations are asked for too.
   */
  evaluates?: readonly MonitorName[]
  /**
   * The write is one SQL statement (its tables' triggers run within it, marks included): without an
   * Idempotency-Key to store beside it, it runs on its own, as atomic as any statement, and saves
   * the two round trips of BEGIN and COMMIT.
   */
  oneStatement?: boolean
  /** The status of the response that reports the write: stored with its Idempotency-Key. */
  statusCode: number
  /** What the response carries of the result, when that is not the result itself. */
  body?: (written: T) => unknown
}

/** A write's result is `undefined` or `false` when there was nothing to write (a 404). */
const wrote = <W>(written: W): written is Exclude<W, undefined | false> => written !== undefined && written !== false

/**
 * Runs a user's write in one transaction together with what must hold exactly when it does: the
 * evaluation marks of the monitors it concerns (written by the tables' triggers, as for any other
 * writer) and the response stored on the request's Idempotency-Key (so a retry after a crash can
 * only replay it, never write twice). Then asks the monitors to evaluate; if that request is
 * lost, the mark still leads to an evaluation.
 */
export type CommitWrite = <W>(
  request: FastifyRequest,
  options: WriteOptions<Exclude<NoInfer<W>, undefined | false>>,
  write: (trx: Db) => Promise<W>,
) => Promise<W>

export function writeCommitter(db: Db, evaluate: Evaluate, reads: Reads): CommitWrite {
  return async (request, options, write) => {
    const held = request.idempotency
    const inTransaction = () =>
      db.transaction().execute(async (trx) => {
        const written = await write(trx)
        if (!wrote(written)) return written
        if (held) {
          // The body as the client will read it: JSON, dates as strings.
          const body =
            options.statusCode === 204 ? null : JSON.parse(JSON.stringify(options.body?.(written) ?? written))
          if (!(await completeKey(trx, request.userId, held, { statusCode: options.statusCode, body }))) {
            // A retry took the key over (this request ran past the claim's lease): its write stands, not this one.
            throw new HttpError(
              409,
              'conflict',
              'a retry with this Idempotency-Key took this request over; this one wrote nothing',
            )
          }
        }
        return written
      })
    const result = await (!held && options.oneStatement ? write(db) : inTransaction())
    if (!wrote(result)) return result
    // Stored with the write: the idempotency hook has nothing left to store.
    if (held) request.idempotency = undefined
    await reads.wrote(request.userId)
    const monitors = new Set([...monitorsReading(...options.writes), ...(options.evaluates ?? [])])
    for (const monitor of monitors) evaluate(monitor, request.userId)
    return result
  }
}
