import { sql } from 'kysely'

/** Row values to API values: NUMERIC arrives as an exact string, timestamps as Date. */
export const toNumber = (value: string | number | null): number | null => (value === null ? null : Number(value))

/** What `Date.toISOString` makes: the API's form of every time. */
const API_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

export const toIso = (value: Date | string | null): string | null =>
  value === null
    ? null
    : value instanceof Date
      ? value.toISOString()
      : API_TIME.test(value)
        ? value
        : new Date(value).toISOString()

/**
 * A timestamptz column as the API's text, made by PostgreSQL (to_char truncates to milliseconds as
 * a Date does): for rows read only to be sent, where parsing each time into a Date and formatting
 * it back cost more than the rest of the mapping.
 */
export const apiTime = (column: string) =>
  sql<string | null>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

/** Keeps only the fields a client sent: a PATCH changes those and nothing else. */
export function present<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>
}
