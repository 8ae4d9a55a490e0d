import Type, { type TProperties } from 'typebox'
import type { ErrorDetail } from '../../errors.js'

/** Field schemas shared by /v1 resources; their bounds match the database's columns and CHECKs. */
export const Name = Type.String({ minLength: 1, maxLength: 200 })
export const Latitude = Type.Number({ minimum: -90, maximum: 90 })
export const Longitude = Type.Number({ minimum: -180, maximum: 180 })
export const Money = (description: string) =>
  Type.Number({
    minimum: 0,
    maximum: 1_000_000_000,
    multipleOf: 0.01,
    description: `${description}; at most 2 decimals`,
  })
export const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code, e.g. USD' })
export const Category = Type.String({ minLength: 1, maxLength: 100 })
export const Kilometres = (description: string) =>
  Type.Number({ minimum: 0, maximum: 10_000_000, description: `${description}, km` })
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()])

/**
 * A request body: unknown fields are refused with their name, never silently dropped or stored.
 * It can hold no more members than it has fields, so the validator's work stays bounded.
 */
export const Body = <P extends TProperties>(properties: P) =>
  Type.Object(properties, { additionalProperties: false, maxProperties: Object.keys(properties).length })

/** A PATCH body: every field optional, still no unknown ones. */
export const PatchOf = <P extends TProperties>(properties: P) => Body(Type.Partial(Type.Object(properties)).properties)

/** A position is both coordinates or neither. */
export const positionProblems = (input: { lat?: number; lon?: number }): ErrorDetail[] =>
  (input.lat === undefined) === (input.lon === undefined)
    ? []
    : [{ field: input.lat === undefined ? 'lat' : 'lon', problem: 'is required with the other coordinate' }]
