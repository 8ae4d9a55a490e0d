import type { FastifyBaseLogger } from 'fastify'
import type { Bindings, ChildLoggerOptions } from 'pino'

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

/**
 * A request's logger, made only when the request logs something. Fastify gives every request a
 * child logger (its reqId) and authentication another (its userId); pino builds each child's JSON
 * prefix up front, a couple of percent of a request that, at the usual levels, never logs a line.
 * Children of a child that is not made yet gather their bindings and are made in one step, with
 * the same fields in the same order as pino's chain of children.
 */
class DeferredChild implements FastifyBaseLogger {
  readonly #root: FastifyBaseLogger
  readonly #bindings: Bindings
  #made: FastifyBaseLogger | undefined

  constructor(root: FastifyBaseLogger, bindings: Bindings) {
    this.#root = root
    this.#bindings = bindings
  }

  #logger(): FastifyBaseLogger {
    this.#made ??= this.#root.child(this.#bindings)
    return this.#made
  }

  get level() {
    return (this.#made ?? this.#root).level
  }

  set level(level) {
    this.#logger().level = level
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    // Options (a route's own log level) change how the child writes: made now, as pino would.
    if (this.#made || (options && Object.keys(options).length > 0)) return this.#logger().child(bindings, options)
    return new DeferredChild(this.#root, { ...this.#bindings, ...bindings })
  }

  #write(level: Level, args: unknown[]) {
    const logger = this.#logger()
    Reflect.apply(logger[level], logger, args)
  }

  fatal(...args: unknown[]) {
    this.#write('fatal', args)
  }
  error(...args: unknown[]) {
    this.#write('error', args)
  }
  warn(...args: unknown[]) {
    this.#write('warn', args)
  }
  info(...args: unknown[]) {
    this.#write('info', args)
  }
  debug(...args: unknown[]) {
    this.#write('debug', args)
  }
  trace(...args: unknown[]) {
    this.#write('trace', args)
  }
  silent() {}
}

/** Fastify's `childLoggerFactory`: each request's logger, deferred until it writes. */
export function deferredRequestLogger(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  return Object.keys(options).length > 0 ? logger.child(bindings, options) : new DeferredChild(logger, bindings)
}
