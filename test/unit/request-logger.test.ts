import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { describe, it } from 'node:test'
import type { FastifyBaseLogger } from 'fastify'
import { deferredRequestLogger } from '../../src/http/request-logger.js'
import { createLogger } from '../../src/platform/logger.js'

/** PAM's logger writing JSON lines into an array, and how many children pino was asked for. */
function capture(level = 'info') {
  const lines: Record<string, unknown>[] = []
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)))
      done()
    },
  })
  const logger = createLogger({ level, role: 'test', destination })
  const made = { children: 0 }
  // Counted on pino's own method (its children inherit the counter, and each still binds its own).
  const child = logger.child
  logger.child = function (this: typeof logger, ...args: Parameters<typeof child>) {
    made.children += 1
    return child.apply(this, args)
  } as typeof logger.child
  return { root: logger as FastifyBaseLogger, lines, made }
}

describe('deferred request logger', () => {
  it('makes no pino child for a request that writes nothing, and one for a request that does', () => {
    const { root, made, lines } = capture('warn')
    const request = deferredRequestLogger(root, { reqId: 'r1' }, {}).child({ userId: 'u1' })
    assert.equal(request.level, 'warn')
    assert.equal(made.children, 0)
    request.warn('written')
    request.error('written too')
    assert.equal(made.children, 1)
    assert.deepEqual(
      lines.map((line) => [line.reqId, line.userId, line.msg]),
      [
        ['r1', 'u1', 'written'],
        ['r1', 'u1', 'written too'],
      ],
    )
  })

  it('writes the same fields in the same order as a chain of pino children', () => {
    const { root, lines } = capture()
    deferredRequestLogger(root, { reqId: 'r1' }, {}).child({ userId: 'u1' }).warn({ extra: 1 }, 'deferred')
    root.child({ reqId: 'r1' }).child({ userId: 'u1' }).warn({ extra: 1 }, 'chained')
    const [deferred, chained] = lines.map(({ time: _, msg: __, ...fields }) => fields)
    assert.deepEqual(Object.keys(deferred ?? {}), Object.keys(chained ?? {}))
    assert.deepEqual(deferred, chained)
  })

  it('makes a child with options (a route log level) at once, as pino does', () => {
    const { root, lines } = capture()
    const request = deferredRequestLogger(root, { reqId: 'r1' }, { level: 'error' })
    assert.equal(request.level, 'error')
    request.warn('below the route level')
    request.error('at the route level')
    assert.deepEqual(
      lines.map((line) => line.msg),
      ['at the route level'],
    )
  })
})
