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
      const text = strings(value)
      if (text.some((s) => s.trim() !== s || s.trim().length === 0)) {
        return { ok: false, problem: 'a text is blank or has leading or trailing white space' }
      }
      if (text.some((s) => MARKDOWN.test(s))) return { ok: false, problem: 'a text contains markdown' }
      return { ok: true, value: value as Static<S> }
    },
  }
}

export const alertTextShape = shapeOf(AlertTextSchema)
export const briefingTextShape = shapeOf(BriefingTextSchema)
