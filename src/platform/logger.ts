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

// A JWT's header always starts with '{"', base64url "eyJ".
const JWT_SHAPE = /eyJ[\w-]*\.[\w-]+\.[\w-]*/
const MENTIONS_TOKEN = /token/i

/** The query as a server might read it: percent-decoded, as often as it was encoded. */
function decoded(query: string) {
  let text = query.replaceAll('+', ' ')
  for (let round = 0; round < 3 && text.includes('%'); round++) {
    try {
      text = decodeURIComponent(text)
    } catch {
      // A malformed escape: what decoded so far is what is judged.
      break
    }
  }
  return text
}

const holdsSecret = (part: string) =>
  [part, decoded(part)].some((form) => MENTIONS_TOKEN.test(form) || JWT_SHAPE.test(form))

/**
 * A token in a URL (only /v1/stream takes one) must reach no log in any spelling: a query whose
 * decoded text names a token (access%5Ftoken, ACCESS_TOKEN…) or holds anything shaped like a JWT
 * is logged as `?[redacted]` whole, and so is a path from its first segment that does (path
 * parameters such as `/v1/stream;access_token=…`, or a token as a segment), so no part of it leaks.
 */
export function redactUrl(url: string) {
  const start = url.indexOf('?')
  const path = start < 0 ? url : url.slice(0, start)
  const segments = path.split('/')
  const first = segments.findIndex(holdsSecret)
  if (first >= 0) return `${segments.slice(0, first).join('/')}/[redacted]`
  if (start < 0) return url
  return holdsSecret(url.slice(start + 1)) ? `${path}?[redacted]` : url
}

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
