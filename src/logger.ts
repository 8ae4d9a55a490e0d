import { type DestinationStream, type Logger, pino } from 'pino'

export type { Logger }

/** Paths pino replaces before a line is written: credentials never reach a log. */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.query.access_token',
  'headers.authorization',
  'authorization',
  'token',
  'password',
]

/** A token in a URL (only /v1/stream takes one) is cut out of logged request URLs. */
export const redactUrl = (url: string) => url.replace(/([?&]access_token=)[^&#]*/g, '$1[redacted]')

interface LoggedRequest {
  method?: string
  url?: string
  host?: string
  ip?: string
  socket?: { remotePort?: number }
}

const serializers = {
  req: (request: LoggedRequest) => ({
    method: request.method,
    url: redactUrl(request.url ?? ''),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  }),
}

/**
 * JSON lines, pretty only when the output is a terminal. Ops commands log to stderr so that
 * their stdout stays machine-readable.
 */
export function createLogger(options: {
  level: string
  role: string
  stream?: 'stdout' | 'stderr'
  /** Where JSON lines go instead (tests read them). */
  destination?: DestinationStream
}): Logger {
  const fd = options.stream === 'stderr' ? 2 : 1
  const pretty = (fd === 1 ? process.stdout : process.stderr).isTTY === true
  const settings = {
    level: options.level,
    base: { role: options.role },
    redact: { paths: REDACT, censor: '[redacted]' },
    serializers,
  }
  if (options.destination) return pino(settings, options.destination)
  if (pretty) {
    return pino({
      ...settings,
      // One line per entry: the request line already names method, URL, status and time.
      transport: {
        target: 'pino-pretty',
        options: { destination: fd, translateTime: 'SYS:HH:MM:ss.l', singleLine: true, ignore: 'pid,hostname,req' },
      },
    })
  }
  return pino(settings, pino.destination({ fd, sync: true }))
}
