import Type from 'typebox'

/** The error body every 4xx/5xx carries (API.md). */
export const ErrorBody = Type.Object({
  error: Type.String({ description: 'machine code' }),
  message: Type.String(),
  details: Type.Optional(Type.Array(Type.Object({ field: Type.String(), problem: Type.String() }))),
})
