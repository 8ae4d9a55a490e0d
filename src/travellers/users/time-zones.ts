import { IANAZone } from 'luxon'

// A name starts with a letter; '+05:00' (ISO 8601) is read by Intl as UTC+5 and by PostgreSQL as
// a POSIX zone, UTC−5. Fixed offsets are spelled as names (Etc/GMT-5 is UTC+5) or not at all.
const NAME_SHAPE = /^[A-Za-z][A-Za-z0-9_/+-]*$/

// luxon checks a zone by building an Intl.DateTimeFormat (about 0.1 ms): a batch of deliveries
// or budgets would otherwise do it for every row. Bounded by the distinct values stored.
const MAX_REMEMBERED = 10_000
const readable = new Map<string, boolean>()

/**
 * The zone a stored value is read as in JavaScript: the value when it is a zone name luxon knows,
 * else UTC. A value written past the API's check (by SQL, or before it) never makes a date
 * invalid (which would fail the statement of a whole batch); SQL reads the same values through
 * the time_zones table with the same fallback.
 */
export function readableZone(zone: string | null | undefined): string {
  if (!zone) return 'UTC'
  let ok = readable.get(zone)
  if (ok === undefined) {
    ok = NAME_SHAPE.test(zone) && IANAZone.isValidZone(zone)
    if (readable.size >= MAX_REMEMBERED) readable.clear()
    readable.set(zone, ok)
  }
  return ok ? zone : 'UTC'
}

/** The wall clock Intl shows in `zone` at each of `instants`, as 'YYYY-MM-DD HH:MM'; undefined: Intl cannot read it. */
export function wallClocks(zone: string, instants: readonly Date[]): string[] | undefined {
  let format: Intl.DateTimeFormat
  try {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
  } catch {
    return undefined
  }
  return instants.map((at) => {
    const parts = Object.fromEntries(format.formatToParts(at).map((part) => [part.type, part.value]))
    return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`
  })
}

/** The instants both readers are compared at: the middle of winter and of summer this year. */
export const comparisonInstants = (now: Date) => {
  const year = now.getUTCFullYear()
  return [new Date(Date.UTC(year, 0, 15, 12)), new Date(Date.UTC(year, 6, 15, 12))] as const
}

/**
 * Whether a zone PostgreSQL reads as a name (with the wall clocks it shows at `instants`) is one a
 * traveller may choose: a name luxon accepts, whose clock Intl shows the same at every instant
 * (DST rules included).
 */
export function readAlike(zone: { name: string; clocks: readonly string[] }, instants: readonly Date[]): boolean {
  if (readableZone(zone.name) !== zone.name) return false
  const clocks = wallClocks(zone.name, instants)
  return clocks?.every((clock, index) => clock === zone.clocks[index]) ?? false
}
