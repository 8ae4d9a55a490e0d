import { randomBytes } from 'node:crypto'

/**
 * The environment of a `pam` process a bench starts: its database, Redis in Redis mode (with the
 * bench's own key prefix, dropped afterwards), a port on loopback, the bench's token secret, quiet
 * logs, and the per-user rate limit and the connections allowed from one address raised out of the
 * way (every client of a bench is on loopback; both are still counted on every request).
 * BENCH_NODE_OPTIONS (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof) is passed on as NODE_OPTIONS.
 */
export function pamEnv(options: {
  databaseUrl: string
  redis?: { url: string; prefix: string }
  port: number
  jwtSecret: string
}): Record<string, string> {
  return {
    DATABASE_URL: options.databaseUrl,
    ...(options.redis ? { REDIS_URL: options.redis.url, REDIS_PREFIX: options.redis.prefix } : {}),
    PORT: String(options.port),
    HOST: '127.0.0.1',
    JWT_SECRET: options.jwtSecret,
    INTERNAL_TOKEN: randomBytes(24).toString('base64url'),
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '1000000',
    MAX_CONNECTIONS_PER_ADDRESS: '100000',
    ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
  }
}
