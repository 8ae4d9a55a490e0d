import { DateTime } from 'luxon'
import type { LocalTime } from './notification-settings.js'

export interface QuietHours {
  start: LocalTime
  end: LocalTime
}

const minutesOf = (time: LocalTime) => {
  const [hours, minutes] = time.split(':').map(Number) as [number, number]
  return hours * 60 + minutes
}

/** The wall-clock `time` on the local day of `local` (a time skipped by a DST switch moves forward). */
const atLocal = (local: DateTime, time: LocalTime) => {
  const minutes = minutesOf(time)
  return local.set({ hour: Math.floor(minutes / 60), minute: minutes % 60, second: 0, millisecond: 0 })
}

/**
 * Whether `now` falls in the traveller's quiet hours, read on their wall clock in `zone` (so a DST
 * switch or a new timezone moves the window with the clock), and when the window ends. A window
 * whose start is after its end spans midnight (22:00–07:00).
 */
export function quietUntil(now: Date, zone: string, hours: QuietHours | null): Date | undefined {
  if (!hours) return undefined
  const local = DateTime.fromJSDate(now, { zone })
  const minute = local.hour * 60 + local.minute
  const start = minutesOf(hours.start)
  const end = minutesOf(hours.end)
  const quiet = start < end ? minute >= start && minute < end : minute >= start || minute < end
  if (!quiet) return undefined
  const today = atLocal(local, hours.end)
  return (today > local ? today : atLocal(local.plus({ days: 1 }), hours.end)).toJSDate()
}

/**
 * The most recent occurrence, at or before `now`, of the local time `time` in `zone`: names a
 * digest's window, so every scheduler and every retry of the same window computes the same key.
 */
export function lastOccurrence(now: Date, zone: string, time: LocalTime): Date {
  const local = DateTime.fromJSDate(now, { zone })
  const today = atLocal(local, time)
  return (today <= local ? today : atLocal(local.minus({ days: 1 }), time)).toJSDate()
}
