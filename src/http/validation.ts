import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'
import { FIRST_YEAR, isAcceptedDate, isAcceptedDateTime, LAST_YEAR } from './accepted-times.js'

/** Deeper than any PAM body needs; deep enough nesting overflows the stack of whatever reads it. */
export const MAX_DEPTH = 32
/** Values (object members and array items) in one request part; bounds the validator's work. */
export const MAX_VALUES = 10_000
/** Problems reported per request; the rest are counted, so a bad request never gets a huge answer. */
export const MAX_DETAILS = 20

export const TIME_PROBLEM = `must be an ISO 8601 date-time with an offset (at most ±15:59), years ${FIRST_YEAR}–${LAST_YEAR}`
export const DATE_PROBLEM = `must be a date YYYY-MM-DD, years ${FIRST_YEAR}–${LAST_YEAR}`

const shared: Options = {
  removeAdditional: false,
  allErrors: true,
  useDefaults: true,
  // multipleOf 0.01 by division is wrong for floats (19.99 / 0.01 = 1998.9999…).
  multipleOfPrecision: 9,
  // Routes compile equal schemas more than once; Ajv must not keep each by $id.
  addUsedSchema: false,
}

function ajvWith(options: Options) {
  const ajv = new Ajv({ ...shared, ...options })
  addFormats.default(ajv)
  ajv.addFormat('date-time', { type: 'string', validate: isAcceptedDateTime })
  ajv.addFormat('date', { type: 'string', validate: isAcceptedDate })
  return ajv
}

// A NUL is refused by PostgreSQL in text and jsonb; a lone surrogate is not Unicode (jsonb refuses
// it, text silently replaces it).
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding the NUL character is the point
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const pointer = (path: string, key: string | number) =>
  `${path}/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`

/**
 * What no schema states but every request part must be: not nested deeper than MAX_DEPTH, at most
 * MAX_VALUES values, and no string (or member name) PostgreSQL cannot store. Iterative, so depth
 * never reaches the stack; it stops as soon as the budget is spent.
 */
function shapeProblems(data: unknown): ErrorObject[] {
  const problems: ErrorObject[] = []
  const problem = (instancePath: string, message: string) =>
    problems.push({ instancePath, schemaPath: '#', keyword: 'shape', params: {}, message })
  const pending: Array<{ value: unknown; path: string; depth: number }> = [{ value: data, path: '', depth: 0 }]
  let values = 0
  while (pending.length > 0) {
    const { value, path, depth } = pending.pop() as { value: unknown; path: string; depth: number }
    if (typeof value === 'string') {
      if (UNSTORABLE.test(value)) problem(path, 'must not contain a NUL character or a lone surrogate')
      continue
    }
    if (value === null || typeof value !== 'object') continue
    if (depth >= MAX_DEPTH) {
      problem(path, `is nested deeper than ${MAX_DEPTH} levels`)
      continue
    }
    const keys = Object.keys(value)
    values += keys.length
    if (values > MAX_VALUES) {
      return [
        {
          instancePath: '',
          schemaPath: '#',
          keyword: 'shape',
          params: {},
          message: `has more than ${MAX_VALUES} values`,
        },
      ]
    }
    const isArray = Array.isArray(value)
    for (const key of keys) {
      if (!isArray && UNSTORABLE.test(key))
        problem(pointer(path, key), 'has a name with a NUL character or a lone surrogate')
      pending.push({ value: (value as Record<string, unknown>)[key], path: pointer(path, key), depth: depth + 1 })
    }
  }
  return problems
}

/**
 * Ajv coerces text beyond a double's range ("1e400", "Infinity") to Infinity, takes it for an
 * integer, and skips minimum and maximum for a value that is not finite: a limit of Infinity
 * would reach the database. Text parts are flat (a value, or an array of values), so one level.
 */
function infiniteNumbers(data: unknown): ErrorObject[] {
  if (data === null || typeof data !== 'object') return []
  return Object.entries(data).flatMap(([key, value]) =>
    (Array.isArray(value) ? value : [value]).some((item) => typeof item === 'number' && !Number.isFinite(item))
      ? [
          {
            instancePath: pointer('', key),
            schemaPath: '#',
            keyword: 'type',
            params: {},
            message: 'must be a finite number',
          },
        ]
      : [],
  )
}

/** An object with too many members also names each unknown one: the count adds nothing. */
function withoutRedundantCounts(errors: ErrorObject[]) {
  const withUnknown = new Set(errors.filter((e) => e.keyword === 'additionalProperties').map((e) => e.instancePath))
  return errors.filter((e) => e.keyword !== 'maxProperties' || !withUnknown.has(e.instancePath))
}

/**
 * Fastify's validator compiler for the whole app. Query strings, params and headers arrive as text,
 * so they are coerced ("5" → 5); a JSON body is never coerced: a null, true, "50" or [50] where a
 * number belongs is a 400 naming the field, not a 0 or a 1 stored and alerted on.
 */
export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const forBody = ajvWith({ coerceTypes: false })
  const forText = ajvWith({ coerceTypes: 'array' })
  return ({ schema, httpPart }) => {
    const isText = httpPart !== 'body'
    const validate: ValidateFunction = (isText ? forText : forBody).compile(schema as object)
    const checked = (data: unknown) => {
      const problems = shapeProblems(data)
      if (problems.length > 0) {
        checked.errors = problems
        return false
      }
      const valid = validate(data)
      const infinite = valid && isText ? infiniteNumbers(data) : []
      if (infinite.length > 0) {
        checked.errors = infinite
        return false
      }
      checked.errors = validate.errors ? withoutRedundantCounts(validate.errors) : null
      return valid
    }
    checked.errors = null as ErrorObject[] | null
    return checked
  }
}
