import type { Config } from '../platform/config.js'
import type { Logger } from '../platform/logger.js'

/** Somewhere an operator reads alerts. */
export interface OperatorChannel {
  name: string
  send(text: string): Promise<void>
}

/** What sends an email: the deployment's SMTP transport (the delivery pipeline's mailer). */
export interface MailSender {
  send(message: { to: string; subject: string; text: string }): Promise<void>
}

const WEBHOOK_TIMEOUT_MS = 10_000

/** A Slack-compatible incoming webhook: POST `{"text": …}`. Errors never quote the URL (it is a secret). */
export function webhookChannel(url: string): OperatorChannel {
  return {
    name: 'webhook',
    async send(text) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text }),
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      })
      await response.body?.cancel()
      if (!response.ok) throw new Error(`the operator webhook answered ${response.status}`)
    },
  }
}

export function emailChannel(mailer: MailSender, to: string): OperatorChannel {
  return {
    name: 'email',
    send: (text) => mailer.send({ to, subject: text.split('\n')[0]?.slice(0, 150) ?? 'PAM operator alert', text }),
  }
}

/**
 * The channels OPS_ALERT_WEBHOOK_URL and OPS_ALERT_EMAIL ask for. Email needs a mailer (the
 * SMTP settings); without one it is left out, with a warning, rather than failing the process.
 */
export function operatorChannels(config: Config, logger: Logger, mailer?: MailSender): OperatorChannel[] {
  const channels: OperatorChannel[] = []
  if (config.OPS_ALERT_WEBHOOK_URL) channels.push(webhookChannel(config.OPS_ALERT_WEBHOOK_URL))
  if (config.OPS_ALERT_EMAIL) {
    if (mailer) channels.push(emailChannel(mailer, config.OPS_ALERT_EMAIL))
    else logger.warn('OPS_ALERT_EMAIL is set but no mail transport is configured: operator alerts are not emailed')
  }
  return channels
}
