import type { FastifyInstance } from 'fastify'
import { HttpError } from './errors.js'
import { MAX_VALUES } from './validation.js'

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPENERS = new Set([0x7b, 0x5b]) // { [
const COMMA = 0x2c

/**
 * An upper bound of the values in a JSON text (every container opened and every comma between
 * members), read without building anything. Parsing 70,000 members costs the event loop hundreds
 * of milliseconds before any schema is consulted; counting them costs about one.
 */
export function exceedsValueBudget(text: string, budget = MAX_VALUES): boolean {
  let values = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (inString) {
      if (code === BACKSLASH) i++
      else if (code === QUOTE) inString = false
    } else if (code === QUOTE) inString = true
    else if ((code === COMMA || OPENERS.has(code)) && ++values > budget) return true
  }
  return false
}

/**
 * JSON bodies as Fastify parses them (prototype poisoning refused), after the value budget: a body
 * too wide or too deep (every level is a value) is refused before it is parsed.
 */
export function registerJsonBodies(app: FastifyInstance) {
  const parse = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (exceedsValueBudget(body as string)) {
      const problem = `has more than ${MAX_VALUES} values`
      return done(
        new HttpError(400, 'bad_request', `invalid body: ${problem}`, [{ field: 'body', problem }]),
        undefined,
      )
    }
    parse(request, body as string, done)
  })
}
