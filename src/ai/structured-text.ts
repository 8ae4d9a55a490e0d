import Type, { type Static, type TSchema } from 'typebox'
import Value from 'typebox/value'

/**
 * The shapes PAM asks models for, each declared once: the strict schema here validates every
 * reply, and the schema sent to the provider is derived from it without the length limits (not
 * every provider's structured output accepts them; the limits are in the instructions instead).
 */
export interface StructuredShape<T> {
  /** JSON Schema for the provider's structured output. */
  wire: Record<string, unknown>
  /** The value if it is acceptable text, else the first problem found. */
  check(value: unknown): { ok: true; value: T } | { ok: false; problem: string }
}

export const TITLE_MAX = 80
export const BODY_MAX = 300
export const SUMMARY_MAX = 160
export const SECTIONS_MAX = 6

const Title = Type.String({ minLength: 1, maxLength: TITLE_MAX, description: `at most ${TITLE_MAX} characters` })
const Body = Type.String({ minLength: 1, maxLength: BODY_MAX, description: `at most ${BODY_MAX} characters` })

export const AlertTextSchema = Type.Object({ title: Title, body: Body }, { additionalProperties: false })
export type AlertText = Static<typeof AlertTextSchema>

export const BriefingTextSchema = Type.Object(
  {
    summary: Type.String({ minLength: 1, maxLength: SUMMARY_MAX, description: `one line, at most ${SUMMARY_MAX}` }),
    sections: Type.Array(AlertTextSchema, { minItems: 1, maxItems: SECTIONS_MAX }),
  },
  { additionalProperties: false },
)
export type BriefingText = Static<typeof BriefingTextSchema>

// Emphasis, headings, list bullets, code, links, tables: a client shows these as raw characters.
const MARKDOWN = /(\*\*|__|`|^\s{0,3}#{1,6}\s|^\s*[-*+]\s|^\s*\d+\.\s|\[[^\]]*\]\([^)]*\)|^\s*\|.*\|\s*$)/m
// A model's text goes to the stream, emails, pushes and every client as it is: plain text only.
// Line breaks and other control or formatting characters (bidi overrides, zero-width) would be
// headers or hidden text somewhere; tags and entities would be markup where a client renders it;
// a link is not PAM's to give (the facts a model gets hold none).
const NOT_PLAIN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u
const HTML = /<\/?[a-z!?][^>]*>|&(#\d+|#x[\da-f]+|[a-z][a-z\d]*);/i
const LINK =
  /\b(https?|ftp|mailto|javascript|data|file|tel|sms):|\bwww\.|\b[a-z\d-]+\.[a-z]{2,}\/|\b[a-z\d-]+\.(com|net|org|info|biz|io|co|app|dev|xyz|link|click|top|site|online|ru|cn|ly|me|gg|us|uk|de)\b/i

/** Why a model's text is not plain text a client can show as it is, or undefined. */
export function plainTextProblem(text: string): string | undefined {
  if (text.trim() !== text || text.trim().length === 0) return 'a text is blank or has leading or trailing white space'
  if (NOT_PLAIN.test(text)) return 'a text has a line break or a control or formatting character'
  if (MARKDOWN.test(text)) return 'a text contains markdown'
  if (HTML.test(text)) return 'a text contains HTML'
  if (LINK.test(text)) return 'a text contains a link'
  return undefined
}

/** Every string in the value, for the checks JSON Schema cannot express. */
const strings = (value: unknown): string[] =>
  typeof value === 'string'
    ? [value]
    : Array.isArray(value)
      ? value.flatMap(strings)
      : value && typeof value === 'object'
        ? Object.values(value).flatMap(strings)
        : []

/** The schema as a provider takes it: plain JSON, length limits left to the instructions. */
function wireOf(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema), (key, value) =>
    ['minLength', 'maxLength', 'minItems', 'maxItems'].includes(key) ? undefined : value,
  )
}

export function shapeOf<S extends TSchema>(schema: S): StructuredShape<Static<S>> {
  return {
    wire: wireOf(schema),
    check(value) {
      const error = Value.Errors(schema, value)[0]
      if (error) return { ok: false, problem: `${error.instancePath || 'reply'} ${error.message}` }
      const problem = strings(value).map(plainTextProblem).find(Boolean)
      return problem ? { ok: false, problem } : { ok: true, value: value as Static<S> }
    },
  }
}

export const alertTextShape = shapeOf(AlertTextSchema)
export const briefingTextShape = shapeOf(BriefingTextSchema)
