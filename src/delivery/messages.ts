import { createHash } from 'node:crypto'
import type { AlertKind, AlertPriority } from '../platform/db/schema.js'
import { PRIORITIES } from './delivery-decision.js'

/** An alert as a message shows it. */
export interface AlertSummary {
  id: string
  kind: AlertKind
  priority: AlertPriority
  title: string
  body: string
  dedupeKey: string
  createdAt: string
}

export interface EmailContent {
  subject: string
  text: string
  html: string
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  )

// Printable text only: letters, marks, digits, punctuation, symbols and spaces. Line breaks (a
// header injected), bidi overrides and zero-width characters (a subject that reads otherwise) go.
const NOT_PRINTABLE = /[^\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]/gu
/** The longest subject PAM writes, in characters; mail clients show far fewer. */
export const SUBJECT_MAX = 120

/** Text for one line of a header: printable, white space collapsed, at most `max` characters. */
export function plainLine(text: string, max: number): string {
  const clean = text.replace(NOT_PRINTABLE, ' ').replace(/\s+/gu, ' ').trim()
  const characters = Array.from(clean)
  return characters.length <= max
    ? clean
    : `${characters
        .slice(0, max - 1)
        .join('')
        .trimEnd()}…`
}

const footer = (unsubscribeUrl: string) => ({
  text: `\n--\nPAM. Stop these emails: ${unsubscribeUrl}\n`,
  html: `<hr><p style="color:#666;font-size:12px">PAM. <a href="${escapeHtml(unsubscribeUrl)}">Stop these emails</a></p>`,
})

/** One alert as an email: plain text and simple HTML, the unsubscribe link in both. */
export function alertEmail(alert: AlertSummary, unsubscribeUrl: string): EmailContent {
  const end = footer(unsubscribeUrl)
  return {
    // The title can hold what a traveller wrote (a vehicle's name) or a model: one plain line.
    subject: plainLine(`${alert.priority === 'urgent' ? '[urgent] ' : ''}${alert.title}`, SUBJECT_MAX),
    text: `${alert.title}\n\n${alert.body}\n${end.text}`,
    html: `<h2>${escapeHtml(alert.title)}</h2><p>${escapeHtml(alert.body)}</p>${end.html}`,
  }
}

/** What a digest gathers: what waited through quiet hours, what the hourly email cap held back, or the day's summary. */
export type DigestHeading = 'quiet' | 'held' | 'daily'

const HEADINGS: Record<DigestHeading, string> = {
  quiet: 'While you were resting',
  held: 'Held back so as not to flood your inbox',
  daily: 'Open today',
}

/** Several alerts in one email. */
export function digestEmail(
  kind: DigestHeading,
  alerts: readonly AlertSummary[],
  unsubscribeUrl: string,
): EmailContent {
  const end = footer(unsubscribeUrl)
  const heading = `${HEADINGS[kind]}: ${alerts.length} alert${alerts.length === 1 ? '' : 's'}`
  return {
    subject: heading,
    text: `${heading}\n\n${alerts.map((a) => `- [${a.priority}] ${a.title}: ${a.body}`).join('\n')}\n${end.text}`,
    html: `<h2>${escapeHtml(heading)}</h2><ul>${alerts
      .map((a) => `<li><strong>${escapeHtml(a.title)}</strong> (${a.priority}): ${escapeHtml(a.body)}</li>`)
      .join('')}</ul>${end.html}`,
  }
}

/** Asks the owner of an address to confirm it: nothing else reaches an address before that. */
export function confirmationEmail(link: string): EmailContent {
  const text = [
    'Someone asked PAM to send travel alerts to this address.',
    `If it was you, confirm it here (the link works for 7 days): ${link}`,
    'If it was not you, ignore this email: PAM sends nothing more to this address unless it is confirmed.',
  ]
  return {
    subject: 'Confirm your address for PAM alerts',
    text: `${text.join('\n\n')}\n`,
    html: `<p>${escapeHtml(text[0] as string)}</p><p><a href="${escapeHtml(link)}">Confirm this address</a> (the link works for 7 days).</p><p>${escapeHtml(text[2] as string)}</p>`,
  }
}

/** Web Push's payload limit is 4096 bytes encrypted; this leaves room for the record overhead. */
export const MAX_PUSH_PLAINTEXT_BYTES = 3_800

export interface PushContent {
  payload: string
  urgency: 'very-low' | 'low' | 'normal' | 'high'
  /** Seconds the push service keeps it for an offline device: a late low alert is worthless. */
  ttlSeconds: number
  /** A newer push with the same topic replaces an undelivered older one (RFC 8030 §5.4). */
  topic: string
}

const PUSH_BY_PRIORITY: Record<AlertPriority, Pick<PushContent, 'urgency' | 'ttlSeconds'>> = {
  low: { urgency: 'low', ttlSeconds: 24 * 3600 },
  medium: { urgency: 'normal', ttlSeconds: 12 * 3600 },
  high: { urgency: 'high', ttlSeconds: 4 * 3600 },
  urgent: { urgency: 'high', ttlSeconds: 3600 },
}

/** A topic is at most 32 URL-safe base64 characters: a hash of what the pushes are about. */
export const pushTopic = (about: string) => createHash('sha256').update(about).digest('base64url').slice(0, 32)

const cutToBytes = (text: string, bytes: number) => {
  const encoded = Buffer.from(text)
  if (encoded.length <= bytes) return text
  // Cut on a character boundary: decoding a cut code point would yield U+FFFD.
  return `${new TextDecoder().decode(encoded.subarray(0, Math.max(0, bytes - 3))).replace(/\uFFFD$/, '')}…`
}

/** The JSON a service worker receives, within the size limit: the body is shortened first. */
function boundedPayload(fields: Record<string, unknown> & { body: string }): string {
  const whole = JSON.stringify(fields)
  const over = Buffer.byteLength(whole) - MAX_PUSH_PLAINTEXT_BYTES
  if (over <= 0) return whole
  return JSON.stringify({ ...fields, body: cutToBytes(fields.body, Buffer.byteLength(fields.body) - over - 16) })
}

/** One alert as a push: the condition is the topic, so an update replaces what the device has not shown. */
export function alertPush(alert: AlertSummary): PushContent {
  return {
    payload: boundedPayload({
      type: 'alert',
      alertId: alert.id,
      kind: alert.kind,
      priority: alert.priority,
      title: cutToBytes(alert.title, 500),
      body: alert.body,
    }),
    ...PUSH_BY_PRIORITY[alert.priority],
    topic: pushTopic(alert.dedupeKey),
  }
}

export function digestPush(kind: DigestHeading, alerts: readonly AlertSummary[]): PushContent {
  const email = digestEmail(kind, alerts, '')
  const top = alerts.reduce<AlertPriority>(
    (highest, a) => (PRIORITIES.indexOf(a.priority) > PRIORITIES.indexOf(highest) ? a.priority : highest),
    'low',
  )
  return {
    payload: boundedPayload({
      type: 'digest',
      kind,
      alertIds: alerts.slice(0, 50).map((a) => a.id),
      title: email.subject,
      body: alerts.map((a) => a.title).join('\n'),
    }),
    ...PUSH_BY_PRIORITY[top],
    topic: pushTopic(`digest:${kind}`),
  }
}
