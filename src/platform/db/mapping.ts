/** Row values to API values: NUMERIC arrives as an exact string, timestamps as Date. */
export const toNumber = (value: string | number | null): number | null => (value === null ? null : Number(value))

export const toIso = (value: Date | string | null): string | null =>
  value === null ? null : value instanceof Date ? value.toISOString() : new Date(value).toISOString()

/** Keeps only the fields a client sent: a PATCH changes those and nothing else. */
export function present<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>
}
