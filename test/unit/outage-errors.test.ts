import assert from 'node:assert/strict'
import { it } from 'node:test'
import { isOutageError, markOutage } from '../../src/platform/errors/outage-errors.js'

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code })

it('reads what pg, Node and PostgreSQL say of a dependency that is gone as an outage', () => {
  for (const error of [
    withCode('terminating connection due to administrator command', '57P01'),
    withCode('the database system is shutting down', '57P03'),
    withCode('database "pam" does not exist', '3D000'),
    withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
    new Error('Connection terminated unexpectedly'),
    new Error('database "pam" is not currently accepting connections'),
    // A write's transaction whose connection died mid-way: Kysely's ROLLBACK fails with this.
    new Error('Client has encountered a connection error and is not queryable'),
    new Error('Client was closed and is not queryable'),
    // ioredis with Redis away.
    new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    new Error('Connection is closed.'),
  ]) {
    assert.equal(isOutageError(error), true, error.message)
  }
})

it('does not read a programming or input error as an outage', () => {
  for (const error of [
    withCode('null value in column "percent" violates not-null constraint', '23502'),
    withCode('syntax error at or near "selec"', '42601'),
    withCode('cannot execute in a read-only transaction', '25006'),
    new TypeError("Cannot read properties of undefined (reading 'id')"),
  ]) {
    assert.equal(isOutageError(error), false, error.message)
  }
})

it("marks a job's outage error (once), and leaves its own failures as they are", () => {
  const outage = withCode('terminating connection due to administrator command', '57P01')
  const marked = markOutage(outage) as Error
  assert.equal(marked.message, 'store unavailable: terminating connection due to administrator command')
  assert.equal(marked.cause, outage)
  assert.equal(markOutage(marked), marked)
  const own = new TypeError("Cannot read properties of undefined (reading 'id')")
  assert.equal(markOutage(own), own)
})
