import { pino, type Logger } from 'pino'

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

export function createLogger(options: { level: string; role: string; pretty?: boolean }): Logger {
  const pretty = options.pretty ?? process.stdout.isTTY === true
  return pino({
    level: options.level,
    base: { role: options.role },
    redact: { paths: REDACT, censor: '[redacted]' },
    transport: pretty ? { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } : undefined,
  })
}
