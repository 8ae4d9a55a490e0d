import { fullFormats } from 'ajv-formats/dist/formats.js'

/**
 * The times and dates PAM accepts: RFC 3339, with what PostgreSQL can store and what a traveller
 * can mean. PostgreSQL refuses offsets beyond ±15:59 (RFC 3339 allows ±23:59), and a year such as
 * 10000 or 0001 is a typo or an attack, never a fuel reading or a trip.
 */
export const FIRST_YEAR = 2000
export const LAST_YEAR = 2100
const MAX_OFFSET_HOURS = 15

const rfc3339DateTime = fullFormats['date-time'] as { validate: (value: string) => boolean }
const rfc3339Date = fullFormats.date as { validate: (value: string) => boolean }
const OFFSET = /([+-])(\d\d)(?::?(\d\d))?$/

const yearInRange = (value: string) => {
  const year = Number(value.slice(0, 4))
  return year >= FIRST_YEAR && year <= LAST_YEAR
}

export function isAcceptedDateTime(value: string): boolean {
  if (!rfc3339DateTime.validate(value) || !yearInRange(value)) return false
  const offset = OFFSET.exec(value)
  return !offset || Number(offset[2]) <= MAX_OFFSET_HOURS
}

export function isAcceptedDate(value: string): boolean {
  return rfc3339Date.validate(value) && yearInRange(value)
}
