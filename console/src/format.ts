/** A server time as this browser's local date and time, or a dash. */
export const when = (iso: string | null | undefined) =>
  iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }) : '—'

export const usd = (amount: number) => `$${amount.toFixed(amount < 1 ? 4 : 2)}`

export const percent = (ratio: number) => `${Math.round(ratio * 100)} %`

/** An API error body's message, or the status. */
export function problem(error: unknown, status: number | undefined): string {
  const message = error && typeof error === 'object' && 'message' in error ? String(error.message) : undefined
  return message ?? `the server answered ${status ?? 'nothing'}`
}
