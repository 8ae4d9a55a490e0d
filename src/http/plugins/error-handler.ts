import type { FastifyError, FastifyInstance } from 'fastify'
import { type ErrorReporter, noErrorReporter } from '../../platform/errors/error-reporter.js'
import { isOutageError } from '../../platform/errors/outage-errors.js'
import { type ErrorCode, type ErrorDetail, HttpError } from '../errors.js'
import { DATE_PROBLEM, MAX_DETAILS, TIME_PROBLEM } from '../validation.js'

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'idempotency_key_reused',
  429: 'rate_limited',
  503: 'unavailable',
}

const COLLIDED = {
  status: 503,
  code: 'unavailable',
  message: 'the request collided with another at the same moment; try again',
} as const

// A database rule caught what validation let through (a row deleted meanwhile, a value out of a
// column's range): the client's request, not our fault; or the request lost a collision the
// database settles by undoing one side. The message never echoes SQL.
const REFUSED_BY_DATABASE: Record<string, { status: number; code: ErrorCode; message: string }> = {
  '23503': { status: 404, code: 'not_found', message: 'a resource this request refers to does not exist' },
  '23514': { status: 400, code: 'bad_request', message: 'a value breaks a rule of this resource' },
  '22003': { status: 400, code: 'bad_request', message: 'a number is out of range' },
  '22007': { status: 400, code: 'bad_request', message: 'a date or time is not valid' },
  '22008': { status: 400, code: 'bad_request', message: 'a date or time is out of range' },
  // Two transactions that each waited for the other (deadlock) or could not both hold
  // (serialization): the database undid this one, and the same request succeeds when sent again.
  '40P01': COLLIDED,
  '40001': COLLIDED,
}

const FORMAT_PROBLEMS: Record<string, string> = { 'date-time': TIME_PROBLEM, date: DATE_PROBLEM }

// An unknown member's name is the client's text: echoed, it is cut short like the list.
const MAX_FIELD_LENGTH = 100
const shortened = (field: string) => (field.length > MAX_FIELD_LENGTH ? `${field.slice(0, MAX_FIELD_LENGTH)}…` : field)

/** Every problem up to MAX_DETAILS, then one line counting the rest: the answer stays small. */
function validationDetails(error: FastifyError): ErrorDetail[] {
  const issues = error.validation ?? []
  const details = issues.slice(0, MAX_DETAILS).map((issue) => {
    const params = issue.params as Record<string, unknown>
    const base = issue.instancePath.replace(/^\//, '').replaceAll('/', '.')
    const leaf = (params.missingProperty ?? params.additionalProperty) as string | undefined
    const field = [error.validationContext === 'body' ? '' : error.validationContext, base, leaf]
      .filter(Boolean)
      .join('.')
    const problem = params.additionalProperty
      ? 'is not a known field'
      : (FORMAT_PROBLEMS[params.format as string] ?? issue.message ?? 'is invalid')
    return { field: shortened(field || (error.validationContext ?? 'body')), problem }
  })
  if (issues.length > MAX_DETAILS) {
    details.push({
      field: error.validationContext ?? 'body',
      problem: `has ${issues.length - MAX_DETAILS} more problems not listed`,
    })
  }
  return details
}

/** undefined_table, undefined_column, undefined_function: what a not yet migrated schema answers. */
const SCHEMA_MISSING = new Set(['42P01', '42703', '42883'])

/**
 * One error handler for the whole API: every error body is `{error, message, details?}`, and a
 * 5xx never carries a stack, SQL or any other internal. Only a 500 (an error of PAM's own) is
 * reported to error tracking: a client's mistake (4xx) and an outage (503) are not bugs.
 */
export function registerErrorHandler(
  app: FastifyInstance,
  errors: ErrorReporter = noErrorReporter,
  storeReady: () => boolean = () => true,
) {
  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .send({ error: 'not_found', message: `no route ${request.method} ${shortened(request.url.split('?')[0] ?? '')}` })
  })

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof HttpError) {
      return reply.code(error.statusCode).send({
        error: error.code,
        message: error.message,
        ...(error.details ? { details: error.details } : {}),
      })
    }
    if (error.validation) {
      const details = validationDetails(error)
      return reply.code(400).send({
        error: 'bad_request',
        message: `invalid ${error.validationContext ?? 'request'}: ${details.map((d) => `${d.field} ${d.problem}`).join('; ')}`,
        details,
      })
    }
    const sqlState = (error as { code?: string }).code ?? ''
    if (!storeReady() && SCHEMA_MISSING.has(sqlState)) {
      // The API listens before its first migration has run: not ready yet, not a bug of PAM's.
      request.log.info({ err: error.message }, 'a request met the schema before it was migrated')
      return reply
        .code(503)
        .send({ error: 'unavailable', message: 'PAM is starting: its database is not ready yet; try again shortly' })
    }
    const refused = REFUSED_BY_DATABASE[sqlState]
    if (refused) {
      request.log.info({ err: error.message }, 'the database refused a write')
      return reply.code(refused.status).send({ error: refused.code, message: refused.message })
    }
    if (isOutageError(error)) {
      request.log.warn({ err: error.message }, 'a dependency is unavailable')
      return reply
        .code(503)
        .send({ error: 'unavailable', message: 'a service PAM depends on is unavailable; try again shortly' })
    }
    const status = error.statusCode ?? 500
    if (status >= 400 && status < 500) {
      return reply.code(status).send({ error: CODE_BY_STATUS[status] ?? 'bad_request', message: error.message })
    }
    request.log.error({ err: error }, 'unhandled error')
    errors.requestFailed(error, {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      requestId: request.id,
      userId: request.userId,
    })
    return reply.code(500).send({ error: 'internal', message: 'an internal error occurred' })
  })
}
