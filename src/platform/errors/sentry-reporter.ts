import * as Sentry from '@sentry/node'
import type { Logger } from '../logger.js'
import { VERSION } from '../version.js'
import type { ErrorReporter } from './error-reporter.js'
import { scrubEvent } from './scrub-event.js'

// Left out of Sentry's defaults: console breadcrumbs (logs are pino's business, and a log line may
// quote a user's data), local variables (they hold tokens and bodies), and the global error
// handlers (runRole decides what ends the process and reports it through processFailed: a
// dependency's connection dropping outside a request is an outage, not a bug).
const LEFT_OUT = new Set(['Console', 'LocalVariables', 'OnUncaughtException', 'OnUnhandledRejection'])

const errorType = (error: unknown) => (error instanceof Error ? error.name : typeof error)

export function startSentry(options: {
  dsn: string
  environment: string
  tracesSampleRate: number
  role: string
  secrets: string[]
  logger: Logger
}): ErrorReporter {
  Sentry.init({
    dsn: options.dsn,
    environment: options.environment,
    release: `pam@${VERSION}`,
    // 0 means no tracing at all (not "trace nothing"): the tracing integrations are not loaded.
    tracesSampleRate: options.tracesSampleRate > 0 ? options.tracesSampleRate : undefined,
    // Sentry 11 collects all of these by default: PAM sends none (beforeSend scrubs again anyway).
    dataCollection: {
      userInfo: false,
      cookies: false,
      httpHeaders: false,
      httpBodies: [],
      urlQueryParams: false,
      databaseQueryData: false,
      queues: false,
      stackFrameVariables: false,
      genAI: { inputs: false, outputs: false },
    },
    // Breadcrumbs of outgoing requests carry provider queries (a user's position): none are kept.
    maxBreadcrumbs: 0,
    initialScope: { tags: { role: options.role } },
    integrations: (defaults) => [
      ...defaults.filter((integration) => !LEFT_OUT.has(integration.name) && integration.name !== 'Fastify'),
      // PAM's error handler knows which errors are its own (500) and reports them itself: the
      // integration would also report errors the handler answers 4xx or 503 (a refused write, an outage).
      Sentry.fastifyIntegration({ shouldHandleError: () => false }),
    ],
    beforeSend: (event) => scrubEvent(event, options.secrets),
    beforeSendTransaction: (event) => scrubEvent(event, options.secrets),
  })
  options.logger.info({ environment: options.environment }, 'error reports go to Sentry')
  return {
    requestFailed(error, request) {
      Sentry.captureException(error, {
        tags: { route: request.route, method: request.method, request_id: request.requestId },
        user: request.userId ? { id: request.userId } : undefined,
      })
    },
    jobFailedForGood(error, job) {
      Sentry.captureException(error, {
        tags: { queue: job.queue, task: job.task, job_id: job.jobId },
        extra: { attemptsMade: job.attemptsMade },
        // One issue per task and kind of failure, whatever the message says (ids, hosts, times).
        fingerprint: ['job-failed', job.task, errorType(error)],
      })
    },
    processFailed(error) {
      Sentry.captureException(error, { level: 'fatal' })
    },
    async close(timeoutMs) {
      const sent = await Sentry.close(timeoutMs)
      if (!sent) options.logger.warn('some error reports were not sent to Sentry before stopping')
    },
  }
}
