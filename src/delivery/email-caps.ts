/**
 * How many emails one traveller, and one address, receive: PAM's sending domain is what gets
 * blocklisted when a flood of alerts reaches a mailbox, whoever's it is. Pure: the sends come from
 * the email_sends table, the clock from the caller.
 */

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

/** Confirmation emails one address receives per day, however many travellers name it. */
export const CONFIRMATIONS_PER_ADDRESS_PER_DAY = 3
/** Confirmation emails one traveller causes per day, whatever addresses they try. */
export const CONFIRMATIONS_PER_TRAVELLER_PER_DAY = 5
/** A traveller saving their unconfirmed address again is sent the link again after this. */
export const CONFIRMATION_RESEND_AFTER_MS = 15 * 60_000

/**
 * When the next email may go out, given the send times in the last hour (any order), the sends
 * just planned (at `now`) and the hourly cap; undefined while under the cap. With `cap` sends in
 * the hour, the earliest of the last `cap` leaves the window an hour after it went.
 */
export function capFullUntil(sent: readonly Date[], planned: number, cap: number, now: Date): Date | undefined {
  const recent = sent
    .map((at) => at.getTime())
    .filter((at) => at > now.getTime() - HOUR_MS)
    .concat(Array(planned).fill(now.getTime()))
    .sort((a, b) => a - b)
  if (recent.length < cap) return undefined
  return new Date((recent[recent.length - cap] as number) + HOUR_MS)
}

/** The email sends a delivery batch reads per alert: the traveller's and their address's, in the last hour. */
export interface EmailSends {
  traveller: readonly Date[]
  address: readonly Date[]
}

/**
 * The hourly cap over one delivery batch: what was sent before it (`EmailSends`, per alert) plus
 * what the batch itself decided to send, per traveller and per address. Concurrent batches for one
 * traveller read the table before either sends, so together they can pass the cap by the sends
 * they have in flight at once (a worker's concurrency), never more.
 */
export function hourlyEmailCap(cap: number, now: Date) {
  const planned = new Map<string, number>()
  const keys = (userId: string, address: string | null) =>
    [`t:${userId}`, `a:${(address ?? '').toLowerCase()}`] as const
  return {
    /** When this traveller's next email may go out, or undefined: now. */
    fullUntil(sends: EmailSends, userId: string, address: string | null): Date | undefined {
      const [traveller, mailbox] = keys(userId, address)
      const times = [
        capFullUntil(sends.traveller, planned.get(traveller) ?? 0, cap, now),
        capFullUntil(sends.address, planned.get(mailbox) ?? 0, cap, now),
      ].filter((at): at is Date => at !== undefined)
      return times.length === 0 ? undefined : new Date(Math.max(...times.map((at) => at.getTime())))
    },
    /** Counts an email the batch will send. */
    spend(userId: string, address: string | null) {
      for (const key of keys(userId, address)) planned.set(key, (planned.get(key) ?? 0) + 1)
    },
  }
}

/** Confirmation emails sent in the last day: by this traveller, to this address, and by them to it. */
export interface ConfirmationSends {
  byTraveller: readonly Date[]
  toAddress: readonly Date[]
  /** The latest this traveller had sent to this address, if any. */
  lastToAddressByTraveller: Date | undefined
}

/** Whether another confirmation may go out now, or why not. */
export function confirmationRefusal(sends: ConfirmationSends, now: Date): 'recently sent' | 'daily cap' | undefined {
  const today = (times: readonly Date[]) => times.filter((at) => at.getTime() > now.getTime() - DAY_MS).length
  const last = sends.lastToAddressByTraveller
  if (last && now.getTime() - last.getTime() < CONFIRMATION_RESEND_AFTER_MS) return 'recently sent'
  if (today(sends.toAddress) >= CONFIRMATIONS_PER_ADDRESS_PER_DAY) return 'daily cap'
  if (today(sends.byTraveller) >= CONFIRMATIONS_PER_TRAVELLER_PER_DAY) return 'daily cap'
  return undefined
}
