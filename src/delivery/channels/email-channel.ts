import nodemailer from 'nodemailer'
import type { SmtpSettings } from '../../platform/config.js'
import type { EmailContent } from '../messages.js'
import { ChannelError } from './channel-error.js'

export interface Email extends EmailContent {
  to: string
  /**
   * The one-click link: List-Unsubscribe and List-Unsubscribe-Post (RFC 8058) point at it. Absent
   * on a message that is no subscription (an address's confirmation).
   */
  unsubscribeUrl?: string
}

export interface EmailChannel {
  send(email: Email): Promise<void>
  close(): void
}

// Connection trouble and 4xx replies pass; a 5xx reply (no such mailbox, refused sender) does not.
const TRANSIENT_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNRESET', 'EPROTOCOL'])

/** An SMTP failure in words a traveller may read; the server's reply goes to the logs only. */
function classify(error: unknown): ChannelError {
  const { code, responseCode, command, message } = error as {
    code?: string
    responseCode?: number
    command?: string
    message?: string
  }
  // The message never holds the password (nodemailer redacts auth).
  const detail = `smtp: ${responseCode ?? code ?? 'error'} ${message ?? ''}`.slice(0, 500)
  if (responseCode !== undefined && responseCode >= 500) {
    const what = /^RCPT/i.test(command ?? '') ? 'the address' : 'the message'
    return new ChannelError(`mail server refused ${what}`, true, false, detail)
  }
  if (responseCode !== undefined) return new ChannelError('mail server deferred the message', false, false, detail)
  if (TRANSIENT_CODES.has(code ?? '')) return new ChannelError('mail server unreachable', false, false, detail)
  return new ChannelError('email could not be sent', true, false, detail)
}

/** One pooled SMTP connection set (nodemailer) on the deployment's SMTP settings. */
const smtpTransport = (smtp: SmtpSettings) =>
  nodemailer.createTransport({
    ...('url' in smtp ? { url: smtp.url } : smtp),
    pool: true,
    maxConnections: 4,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  } as Parameters<typeof nodemailer.createTransport>[0])

/** Alert emails to travellers: plain text and HTML in one message, with the one-click unsubscribe. */
export function createEmailChannel(smtp: SmtpSettings, from: string): EmailChannel {
  const transport = smtpTransport(smtp)
  return {
    async send(email) {
      try {
        await transport.sendMail({
          from,
          to: email.to,
          subject: email.subject,
          text: email.text,
          html: email.html,
          ...(email.unsubscribeUrl
            ? {
                list: { unsubscribe: { url: email.unsubscribeUrl, comment: 'Stop PAM emails' } },
                headers: { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
              }
            : {}),
        })
      } catch (error) {
        throw classify(error)
      }
    },
    close: () => transport.close(),
  }
}

/** Plain-text emails to the deployment's operator (OPS_ALERT_EMAIL): no traveller, no unsubscribe. */
export function createOperatorMailer(smtp: SmtpSettings, from: string) {
  const transport = smtpTransport(smtp)
  return {
    async send(message: { to: string; subject: string; text: string }): Promise<void> {
      try {
        await transport.sendMail({ from, ...message })
      } catch (error) {
        throw classify(error)
      }
    },
    close: () => transport.close(),
  }
}
