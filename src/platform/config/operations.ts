import Type from 'typebox'
import { Url } from './fields.js'

/** Operating it: error tracking and the operator's own alerts. */
export const OperationsFields = {
  SENTRY_DSN: Type.Optional(
    Url(['https', 'http'], 'Sentry DSN: errors (5xx, jobs that failed for good) are reported there; unset: off', {
      secret: true,
    }),
  ),
  SENTRY_ENVIRONMENT: Type.Optional(
    Type.String({ minLength: 1, maxLength: 64, description: "Sentry's environment tag; default: ENVIRONMENT" }),
  ),
  SENTRY_TRACES_SAMPLE_RATE: Type.Number({
    minimum: 0,
    maximum: 1,
    default: 0,
    description: 'share of requests traced to Sentry (0: errors only, no tracing)',
  }),
  OPS_ALERT_WEBHOOK_URL: Type.Optional(
    Url(['https', 'http'], 'operator alerts are POSTed here as Slack-compatible {"text": …}', { secret: true }),
  ),
  OPS_ALERT_EMAIL: Type.Optional(
    Type.String({
      pattern: '^[^\\s@,]+@[^\\s@,]+\\.[^\\s@,]+$',
      problem: 'must be one email address',
      description: 'operator alerts are mailed here (through the SMTP settings)',
    }),
  ),
  OPS_ALERT_COOLDOWN_MS: Type.Integer({
    minimum: 0,
    maximum: 7 * 24 * 3_600_000,
    default: 1_800_000,
    description: 'an operator alert that cleared is not raised again for the same condition within this',
  }),
  OPS_ALERT_CHECK_INTERVAL_MS: Type.Integer({
    minimum: 1000,
    maximum: 3_600_000,
    default: 30_000,
    description: 'how often the scheduler checks the operator conditions',
  }),
  OPS_PROVIDER_FAILURE_RATIO: Type.Number({
    exclusiveMinimum: 0,
    maximum: 1,
    default: 0.5,
    description: 'a provider whose lookups failed at this share or more over 15 minutes raises an operator alert',
  }),
}
