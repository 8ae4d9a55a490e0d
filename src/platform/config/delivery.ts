import Type from 'typebox'
import { Cadence, Flag, Url } from './fields.js'

/** Delivery: email and Web Push reach the traveller who holds no socket open (docs/alerts.md). */
export const DeliveryFields = {
  SMTP_URL: Type.Optional(
    Url(
      ['smtp', 'smtps'],
      'SMTP server for alert emails, e.g. smtp://user:pass@host:587; unset (and no SMTP_SERVER): email off',
      {
        secret: true,
      },
    ),
  ),
  SMTP_SERVER: Type.Optional(
    Type.String({ minLength: 1, description: "the seeds' SMTP host, used when SMTP_URL is unset" }),
  ),
  SMTP_PORT: Type.Integer({
    minimum: 1,
    maximum: 65535,
    default: 587,
    description: 'port for SMTP_SERVER (465: TLS from the start; otherwise STARTTLS when offered)',
  }),
  SMTP_USERNAME: Type.Optional(Type.String({ minLength: 1, description: 'login for SMTP_SERVER' })),
  SMTP_PASSWORD: Type.Optional(Type.String({ minLength: 1, secret: true, description: 'password for SMTP_SERVER' })),
  EMAIL_FROM: Type.String({
    minLength: 3,
    default: 'PAM <pam@localhost>',
    description: 'the From of alert emails, e.g. "PAM <alerts@example.org>"',
  }),
  EMAIL_ALERTS_PER_HOUR: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 10,
    description:
      'emails one traveller, and one address, receive per hour (alerts, digests, confirmations); the alerts over it wait and go out as one digest',
  }),
  VAPID_PUBLIC_KEY: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'Web Push VAPID public key; unset outside production: generated in PAM_HOME',
    }),
  ),
  VAPID_PRIVATE_KEY: Type.Optional(
    Type.String({ minLength: 1, secret: true, description: 'Web Push VAPID private key (with VAPID_PUBLIC_KEY)' }),
  ),
  VAPID_SUBJECT: Type.String({
    pattern: '^(mailto:|https://)\\S+$',
    problem: 'must be a mailto: or https:// URL',
    default: 'mailto:pam@localhost',
    description: 'how push services reach the operator (a mailto: or https:// URL)',
  }),
  PUSH_ALLOW_PRIVATE_ENDPOINTS: Type.Optional(
    Flag(
      'push endpoints may be loopback or private addresses, on any port (tests with a local push service); refused in production',
    ),
  ),
  PUBLIC_URL: Type.Optional(
    Url(
      ['https', 'http'],
      'the address travellers reach the API at, for links in emails; unset: http://localhost:PORT',
    ),
  ),
  SCHEDULE_DELIVERY_DRAIN: Cadence(
    '*/10 * * * * *',
    'pam-delivery-drain (queues the delivery of alerts whose own job is late or was lost)',
  ),
  SCHEDULE_DIGESTS: Cadence(
    '* * * * *',
    'pam-digests (sends the digest of travellers whose quiet hours ended, and the daily digests)',
  ),
}
