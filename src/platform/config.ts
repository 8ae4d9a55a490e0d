import Type, { type StaticDecode } from 'typebox'
import Value from 'typebox/value'
import { QUEUE_NAMES, type QueueName } from './backend/queue-names.js'
import { DEFAULT_PRICES, type PriceTable } from './model-prices.js'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
const ENVIRONMENTS = ['development', 'staging', 'production'] as const

const CRON_PATTERN = '^\\s*\\S+(\\s+\\S+){4,5}\\s*$'

/** `problem` is the sentence shown when a value fails its pattern; schemas stay plain JSON Schema. */
const Url = (protocols: string[], description: string, extra: Record<string, unknown> = {}) =>
  Type.String({
    description,
    pattern: `^(${protocols.join('|')})://[^\\s/?#]+[^\\s]*$`,
    problem: `must be a ${protocols.map((p) => `${p}://`).join(' or ')} URL`,
    ...extra,
  })

/** When a schedule runs: a cron pattern in UTC, overridable per deployment. */
const Cadence = (fallback: string, description: string) =>
  Type.String({
    pattern: CRON_PATTERN,
    problem: 'must be a cron pattern of 5 or 6 fields, e.g. "*/5 * * * *"',
    default: fallback,
    description: `when ${description} runs (cron, UTC)`,
  })

const Flag = (description: string) =>
  Type.Codec(Type.Enum(['true', 'false', '1', '0'], { description }))
    .Decode((value) => value === 'true' || value === '1')
    .Encode((value) => (value ? 'true' : 'false'))

const queueAlternatives = QUEUE_NAMES.join('|')
const QueueList = Type.Codec(
  Type.String({
    description: `comma-separated queues a worker consumes (${QUEUE_NAMES.join(', ')}); default: all`,
    pattern: `^\\s*(${queueAlternatives})\\s*(,\\s*(${queueAlternatives})\\s*)*$`,
    problem: `must be a comma-separated list of ${QUEUE_NAMES.join(', ')}`,
  }),
)
  .Decode((value) => [...new Set(value.split(',').map((part) => part.trim()))] as QueueName[])
  .Encode((list) => list.join(','))

const OriginList = Type.Codec(
  Type.String({ description: 'comma-separated allowed CORS origins ("*" only outside production)' }),
)
  .Decode((value) =>
    value
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean),
  )
  .Encode((list) => list.join(','))

/**
 * Every environment variable PAM reads, with its default. `Config` is derived from this
 * schema, so the two cannot drift, and `pam config check` validates with the same object.
 */
export const EnvSchema = Type.Object({
  ENVIRONMENT: Type.Enum(ENVIRONMENTS, { default: 'development', description: 'deployment environment' }),
  PORT: Type.Integer({
    minimum: 1,
    maximum: 65535,
    default: 8000,
    description:
      'API listen port; in development, unset and taken (another clone): a free one, said and kept in PAM_HOME',
  }),
  METRICS_PORT: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 65535,
      description:
        'worker and scheduler processes serve their own /metrics (internal token) and /health on this port; the API serves them on PORT',
    }),
  ),
  HOST: Type.String({
    minLength: 1,
    default: '127.0.0.1',
    description: 'API listen address; unset in staging and production: 0.0.0.0 (every interface)',
  }),
  DATABASE_URL: Type.Optional(
    Url(['postgres', 'postgresql'], 'PostgreSQL URL; unset: embedded PostgreSQL under PAM_HOME', {
      secret: true,
    }),
  ),
  DATABASE_DIRECT_URL: Type.Optional(
    Url(
      ['postgres', 'postgresql'],
      'a session (direct) URL of the same database, where DATABASE_URL goes through a pooler in transaction mode (PgBouncer, Supavisor): LISTEN/NOTIFY, the Postgres-only queue store and backups use it; with it set, no named prepared statement is sent through DATABASE_URL',
      { secret: true },
    ),
  ),
  DATABASE_READ_URL: Type.Optional(
    Url(
      ['postgres', 'postgresql'],
      "a read replica of the database for list pages; a traveller's own lists read the primary until the replica has replayed their last write",
      { secret: true },
    ),
  ),
  REDIS_URL: Type.Optional(Url(['redis', 'rediss'], 'Redis URL; unset: Postgres-only mode', { secret: true })),
  UPSTASH_REDIS_URL: Type.Optional(Url(['redis', 'rediss'], 'used when REDIS_URL is unset', { secret: true })),
  REDIS_CLUSTER: Type.Optional(
    Flag(
      'Redis is a Redis Cluster (ElastiCache cluster mode, Memorystore cluster): REDIS_URL names one node to discover the others from (a configuration endpoint), its credentials and TLS used for every node; each queue gets its own hash tag, so the queues spread over the shards',
    ),
  ),
  JWT_SECRET: Type.Optional(
    Type.String({
      minLength: 1,
      secret: true,
      description: 'HS256 secret (Supabase legacy JWT secret); unset outside production: a dev secret in PAM_HOME',
    }),
  ),
  JWT_JWKS_URL: Type.Optional(Url(['https', 'http'], 'JWKS URL for asymmetric tokens (Supabase signing keys)')),
  JWT_AUDIENCE: Type.String({ minLength: 1, default: 'authenticated', description: 'required `aud` claim' }),
  JWT_ISSUER: Type.Optional(Type.String({ minLength: 1, description: 'required `iss` claim, when set' })),
  INTERNAL_TOKEN: Type.Optional(
    Type.String({
      minLength: 1,
      secret: true,
      description: 'bearer token for internal endpoints; unset outside production: a dev token in PAM_HOME',
    }),
  ),
  CORS_ORIGINS: Type.Optional(OriginList),
  RATE_LIMIT_PER_MINUTE: Type.Integer({
    minimum: 1,
    maximum: 1_000_000,
    default: 300,
    description: 'requests per minute to /v1 per user (per IP without a token); shared through Redis in Redis mode',
  }),
  LOG_LEVEL: Type.Enum(LOG_LEVELS, { default: 'info', description: 'pino log level' }),
  WORKER_QUEUES: Type.Optional(QueueList),
  WORKER_CONCURRENCY: Type.Integer({
    minimum: 1,
    maximum: 256,
    default: 4,
    description: 'jobs per queue at once',
  }),
  WORKER_LOCK_DURATION_MS: Type.Integer({
    minimum: 1000,
    maximum: 600_000,
    default: 30_000,
    description:
      "a job's lock and the stall check's interval: a killed worker's job is re-run after about this long; use one value for all workers (BullMQ checks each queue once per interval)",
  }),
  FUEL_MEDIUM_BELOW_PERCENT: Type.Number({
    exclusiveMinimum: 0,
    maximum: 100,
    default: 20,
    description: 'a fuel reading below this % opens a medium fuel_low alert',
  }),
  FUEL_HIGH_BELOW_PERCENT: Type.Number({
    exclusiveMinimum: 0,
    maximum: 100,
    default: 10,
    description: 'a fuel reading below this % makes the fuel_low alert high',
  }),
  STATION_RADIUS_KM: Type.Number({
    exclusiveMinimum: 0,
    maximum: 500,
    default: 50,
    description: 'fuel stations are searched within the smaller of the remaining range and this',
  }),
  BUDGET_HIGH_RATIO: Type.Number({
    exclusiveMinimum: 0,
    maximum: 10,
    default: 0.8,
    description: 'spent / amount at or above this opens a high budget_threshold alert',
  }),
  BUDGET_URGENT_RATIO: Type.Number({
    exclusiveMinimum: 0,
    maximum: 10,
    default: 0.95,
    description: 'spent / amount at or above this makes the budget alert urgent',
  }),
  WEATHER_MAX_PRECIPITATION_PERCENT: Type.Number({
    minimum: 0,
    maximum: 100,
    default: 20,
    description: 'a clear day has at most this precipitation probability (and WMO code 0, 1 or 2)',
  }),
  WEATHER_MAX_WIND_KMH: Type.Number({
    exclusiveMinimum: 0,
    maximum: 300,
    default: 40,
    description: 'a clear day has at most this maximum wind speed, km/h',
  }),
  MAINTENANCE_DUE_WITHIN_DAYS: Type.Integer({
    minimum: 0,
    maximum: 365,
    default: 14,
    description: 'an item due within this many days gets a medium maintenance_due alert',
  }),
  MAINTENANCE_DUE_WITHIN_KM: Type.Number({
    minimum: 0,
    maximum: 100_000,
    default: 500,
    description: 'an item due within this many km gets a medium maintenance_due alert',
  }),
  CONTEXT_MIN_CONFIDENCE: Type.Number({
    minimum: 0,
    maximum: 1,
    default: 0.7,
    description: 'a context signal must be more confident than this to change the context',
  }),
  SCHEDULE_FUEL_MONITORING: Cadence('*/5 * * * *', 'pam-fuel-monitoring (the fuel sweep)'),
  SCHEDULE_BUDGET_ANALYSIS: Cadence('0 * * * *', 'pam-budget-analysis (the budget sweep)'),
  SCHEDULE_WEATHER_MONITORING: Cadence('*/30 * * * *', 'pam-weather-monitoring (the weather sweep)'),
  SCHEDULE_MAINTENANCE_MONITORING: Cadence('0 6 * * *', 'pam-maintenance-monitoring (the maintenance sweep)'),
  SCHEDULE_CONTEXT_MONITORING: Cadence('*/15 * * * *', 'pam-context-monitoring (the context sweep)'),
  SCHEDULE_EVALUATION_DRAIN: Cadence(
    '*/5 * * * * *',
    'pam-evaluation-drain (evaluates the writes whose evaluation job is late or was lost)',
  ),
  EVALUATION_DRAIN_GRACE_MS: Type.Integer({
    minimum: 0,
    maximum: 600_000,
    default: 2_000,
    description: "how long a write's own evaluation job has before the drainer evaluates it instead",
  }),
  SCHEDULE_HOUSEKEEPING: Cadence(
    '17 3 * * *',
    'pam-housekeeping (expired suggestions, old idempotency keys, dead heartbeats)',
  ),
  WEATHER_API_URL: Url(['https', 'http'], 'Open-Meteo compatible forecast API', {
    default: 'https://api.open-meteo.com/v1/forecast',
  }),
  PLACES_API_URL: Url(['https', 'http'], 'Overpass compatible API', {
    default: 'https://overpass-api.de/api/interpreter',
  }),
  ANTHROPIC_API_KEY: Type.Optional(
    Type.String({ minLength: 1, secret: true, description: 'Anthropic API key; unset: no analysis model' }),
  ),
  GEMINI_API_KEY: Type.Optional(
    Type.String({ minLength: 1, secret: true, description: 'Google Gemini API key; unset: no fast model' }),
  ),
  ANTHROPIC_BASE_URL: Url(['https', 'http'], 'Anthropic Messages API base (tests point it at a local fake)', {
    default: 'https://api.anthropic.com/v1',
  }),
  GEMINI_BASE_URL: Url(['https', 'http'], 'Gemini API base (tests point it at a local fake)', {
    default: 'https://generativelanguage.googleapis.com/v1beta',
  }),
  AI_ANALYSIS_MODEL: Type.String({
    minLength: 1,
    default: 'claude-sonnet-4-6',
    description: 'Anthropic model for analysis (briefings); must have a price (AI_PRICES)',
  }),
  AI_FAST_MODEL: Type.String({
    minLength: 1,
    default: 'gemini-2.5-flash',
    description: 'Gemini model for frequent tasks (alert text); must have a price (AI_PRICES)',
  }),
  AI_DAILY_BUDGET_USD: Type.Number({
    minimum: 0,
    maximum: 100_000,
    default: 5,
    description: 'what the whole deployment may spend on AI per UTC day (reserved before each call)',
  }),
  AI_USER_DAILY_BUDGET_USD: Type.Number({
    minimum: 0,
    maximum: 1_000,
    default: 0.05,
    description: 'what one user may cost in AI per UTC day (reserved before each call)',
  }),
  AI_PRICES: Type.Optional(
    Type.Codec(
      Type.String({
        description:
          'model prices in USD per million tokens, JSON: {"<model>": {"input", "output", "cacheWrite", "cacheRead"}}; adds to and overrides the built-in table',
      }),
    )
      .Decode((value) => parsePrices(value) as PriceTable)
      .Encode((table) => JSON.stringify(table)),
  ),
  AI_TIMEOUT_MS: Type.Integer({
    minimum: 1000,
    maximum: 300_000,
    default: 30_000,
    description: 'a model call taking longer is abandoned (and retried, then the next tier)',
  }),
  BRIEFING_LOCAL_HOUR: Type.Integer({
    minimum: 0,
    maximum: 23,
    default: 7,
    description: "the hour of a traveller's local morning (profile timezone) their daily briefing is written",
  }),
  BRIEFING_REQUESTS_PER_HOUR: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 3,
    description: 'briefings one traveller may ask for per hour (POST /v1/briefings), besides the AI budgets',
  }),
  SCHEDULE_BRIEFINGS: Cadence('5 * * * *', 'pam-briefings (daily briefings of the travellers whose morning it is)'),
  // Delivery: email and Web Push reach the traveller who holds no socket open (docs/alerts.md).
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
  MIGRATE_ON_START: Type.Optional(Flag('run migrations when a role starts; default: on outside production')),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({
    minimum: 1000,
    maximum: 600_000,
    default: 25_000,
    description: 'how long SIGTERM waits for in-flight requests and jobs',
  }),
  PAM_HOME: Type.String({
    minLength: 1,
    default: '.pam',
    description: 'local state: embedded database, dev secrets',
  }),
  REDIS_PREFIX: Type.String({
    pattern: '^[\\w{}:.-]{1,40}$',
    problem: 'must be 1-40 letters, digits or _ { } : . -',
    default: 'pam',
    description:
      'key prefix for queues, the bus and the cache in Redis (without { }: on a Redis Cluster PAM adds the hash tags)',
  }),
  EMBEDDED_DATABASE_PORT: Type.Integer({
    minimum: 1,
    maximum: 65535,
    default: 54329,
    description:
      'port of the embedded PostgreSQL; in development, unset and taken (another clone): a free one, said and kept in PAM_HOME',
  }),
  // Operating it: error tracking and the operator's own alerts.
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
  // The HTTP edge: client addresses behind proxies, how long a client may take, how many streams.
  TRUST_PROXY: Type.Integer({
    minimum: 0,
    maximum: 10,
    default: 0,
    description:
      'proxy hops in front of the API whose X-Forwarded-For is trusted for the client address (rate limits, logs): 1 behind Fly or Render; 0: the connecting address',
  }),
  REQUEST_TIMEOUT_MS: Type.Integer({
    minimum: 1000,
    maximum: 600_000,
    default: 30_000,
    description: 'a request (headers and body) must arrive whole within this, or it is answered 408 and cut off',
  }),
  CONNECTION_TIMEOUT_MS: Type.Integer({
    minimum: 1000,
    maximum: 3_600_000,
    default: 120_000,
    description: 'a connection silent this long is closed (WebSockets are pinged instead)',
  }),
  MAX_CONNECTIONS_PER_ADDRESS: Type.Integer({
    minimum: 1,
    maximum: 100_000,
    default: 256,
    description:
      'connections one client address may hold open to the API at once; the next is answered 429 and closed (not applied behind a proxy, TRUST_PROXY > 0: the proxy holds them)',
  }),
  STREAM_MAX_SOCKETS_PER_USER: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 10,
    description: 'alert streams (/v1/stream) one user may hold per API process; the next is closed with 4008',
  }),
})

export type Env = StaticDecode<typeof EnvSchema>
export type Config = Readonly<Env>

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

const MIN_SECRET_LENGTH = 32

/**
 * Validates `env` once into a frozen Config, or throws a ConfigError naming every problem.
 * Messages name variables and rules, never values: a value may be a secret.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const known = Object.keys(EnvSchema.properties)
  // An empty variable (`FOO=` in an env file) means unset, as it does for most tools.
  const raw = Object.fromEntries(known.flatMap((key) => (env[key] ? [[key, env[key]]] : [])))
  // A development server answers on loopback only (as Supabase and uvicorn do); a deployment
  // listens on every interface, where its platform routes traffic to it.
  if (!raw.HOST && raw.ENVIRONMENT && raw.ENVIRONMENT !== 'development') raw.HOST = '0.0.0.0'
  const candidate = Value.Default(EnvSchema, Value.Convert(EnvSchema, raw))
  const schema = schemaProblems(candidate)
  // One line per variable: a value the schema already refused is not reported again.
  const refused = new Set(schema.map((problem) => problem.split(' ')[0]))
  const policy = policyProblems(candidate as Record<string, unknown>).filter((p) => !refused.has(p.split(' ')[0]))
  const problems = [...schema, ...policy]
  if (problems.length > 0) throw new ConfigError(problems)
  return Object.freeze(Value.Decode(EnvSchema, candidate) as Env)
}

function schemaProblems(candidate: unknown): string[] {
  const byVariable = new Map<string, string>()
  for (const error of Value.Errors(EnvSchema, candidate)) {
    const name = error.instancePath.replace(/^\//, '')
    if (!name || byVariable.has(name)) continue
    const schema = (EnvSchema.properties as unknown as Record<string, Record<string, unknown>>)[name] ?? {}
    byVariable.set(name, `${name} ${describeProblem(schema, error.keyword, error.message)}`)
  }
  return [...byVariable.values()]
}

function describeProblem(schema: Record<string, unknown>, keyword: string, message: string): string {
  if (keyword === 'pattern' && typeof schema.problem === 'string') return schema.problem
  if (Array.isArray(schema.enum)) return `must be one of: ${schema.enum.join(', ')}`
  if (keyword === 'type' && schema.type === 'integer') return 'must be a whole number'
  if (keyword === 'minimum' || keyword === 'maximum') return `must be between ${schema.minimum} and ${schema.maximum}`
  return message
}

/**
 * Rules that hold between variables, and what production refuses. Runs on the undecoded
 * values so that these are reported together with any schema problem.
 */
function policyProblems(config: Record<string, unknown>): string[] {
  const problems: string[] = []
  const text = (name: string) => (typeof config[name] === 'string' ? (config[name] as string) : undefined)
  if (config.JWT_SECRET && config.JWT_JWKS_URL) problems.push('set JWT_SECRET or JWT_JWKS_URL, not both')
  const number = (
    name: 'FUEL_HIGH_BELOW_PERCENT' | 'FUEL_MEDIUM_BELOW_PERCENT' | 'BUDGET_HIGH_RATIO' | 'BUDGET_URGENT_RATIO',
  ) => Number(config[name] ?? (EnvSchema.properties[name] as { default?: number }).default)
  if (number('FUEL_HIGH_BELOW_PERCENT') >= number('FUEL_MEDIUM_BELOW_PERCENT')) {
    problems.push('FUEL_HIGH_BELOW_PERCENT must be below FUEL_MEDIUM_BELOW_PERCENT')
  }
  if (number('BUDGET_URGENT_RATIO') <= number('BUDGET_HIGH_RATIO')) {
    problems.push('BUDGET_URGENT_RATIO must be above BUDGET_HIGH_RATIO')
  }
  if (Boolean(config.VAPID_PUBLIC_KEY) !== Boolean(config.VAPID_PRIVATE_KEY))
    problems.push('set VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY together, or neither')
  if (config.SMTP_URL && config.SMTP_SERVER) problems.push('set SMTP_URL or SMTP_SERVER, not both')
  for (const name of ['DATABASE_DIRECT_URL', 'DATABASE_READ_URL']) {
    if (config[name] && !config.DATABASE_URL) problems.push(`${name} is set without DATABASE_URL: set both, or neither`)
  }
  if (['true', '1'].includes(text('REDIS_CLUSTER') ?? '')) {
    if (!text('REDIS_URL') && !text('UPSTASH_REDIS_URL')) problems.push('REDIS_CLUSTER is set without REDIS_URL')
    // PAM puts each queue's keys under a hash tag of its own; braces in the prefix would replace
    // those tags with one, holding every queue on a single shard.
    if (/[{}]/.test(text('REDIS_PREFIX') ?? ''))
      problems.push('REDIS_PREFIX must not contain { or } with REDIS_CLUSTER (PAM adds a hash tag per queue)')
  }
  for (const name of [
    'DATABASE_URL',
    'DATABASE_DIRECT_URL',
    'DATABASE_READ_URL',
    'REDIS_URL',
    'UPSTASH_REDIS_URL',
    'JWT_JWKS_URL',
    'SMTP_URL',
    'PUBLIC_URL',
  ]) {
    const value = text(name)
    if (value && !URL.canParse(value)) problems.push(`${name} is not a valid URL (check the host, port and escaping)`)
  }
  // A browser's Origin is scheme://host[:port], never with a path: such an entry never matches.
  if (
    text('CORS_ORIGINS')
      ?.split(',')
      .some((origin) => /^\w+:\/\/[^/]+\/.*$/.test(origin.trim()))
  )
    problems.push(
      'CORS_ORIGINS has an entry with a path or a trailing "/" (an origin is scheme://host[:port]): it would never match',
    )
  const prices = text('AI_PRICES')
  const priced = prices === undefined ? {} : parsePrices(prices)
  if (priced === undefined) {
    problems.push(
      'AI_PRICES must be JSON: {"<model>": {"input": n, "output": n, "cacheWrite": n, "cacheRead": n}} with prices ≥ 0',
    )
  }
  for (const name of ['AI_ANALYSIS_MODEL', 'AI_FAST_MODEL']) {
    const model = text(name) ?? (EnvSchema.properties[name as 'AI_FAST_MODEL'] as { default?: string }).default ?? ''
    if (priced && !Object.hasOwn({ ...DEFAULT_PRICES, ...priced }, model)) {
      problems.push(`${name} has no price: add it to AI_PRICES so its calls can be budgeted`)
    }
  }
  if (config.ENVIRONMENT !== 'production') return problems
  const secret = text('JWT_SECRET')
  const internalToken = text('INTERNAL_TOKEN')
  if (!config.DATABASE_URL)
    problems.push('DATABASE_URL is required in production (the embedded database is for one machine)')
  if (!config.JWT_SECRET && !config.JWT_JWKS_URL) problems.push('JWT_SECRET or JWT_JWKS_URL is required in production')
  if (secret && secret.length < MIN_SECRET_LENGTH)
    problems.push(`JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters in production`)
  if (!internalToken) problems.push('INTERNAL_TOKEN is required in production')
  else if (internalToken.length < MIN_SECRET_LENGTH)
    problems.push(`INTERNAL_TOKEN must be at least ${MIN_SECRET_LENGTH} characters in production`)
  if (
    text('CORS_ORIGINS')
      ?.split(',')
      .some((origin) => origin.trim() === '*')
  )
    problems.push('CORS_ORIGINS must not contain "*" in production')
  if (['true', '1'].includes(text('PUSH_ALLOW_PRIVATE_ENDPOINTS') ?? ''))
    problems.push(
      'PUSH_ALLOW_PRIVATE_ENDPOINTS must not be on in production (it lets travellers make PAM call into its network)',
    )
  return problems
}

/** AI_PRICES as a table, or undefined when it is not one (reported by policyProblems). */
function parsePrices(value: string): PriceTable | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    return undefined
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined
  const rates = ['input', 'output', 'cacheWrite', 'cacheRead'] as const
  const valid = Object.values(parsed).every(
    (price) =>
      price &&
      typeof price === 'object' &&
      rates.every((rate) => typeof price[rate] === 'number' && Number.isFinite(price[rate]) && price[rate] >= 0),
  )
  return valid ? (parsed as PriceTable) : undefined
}

/** The price of every model: the built-in table with AI_PRICES over it. */
export const aiPrices = (config: Config): PriceTable => ({ ...DEFAULT_PRICES, ...config.AI_PRICES })

/** The daily AI spending caps, as the budgets take them. */
export const aiCaps = (config: Config) => ({
  userUsd: config.AI_USER_DAILY_BUDGET_USD,
  deploymentUsd: config.AI_DAILY_BUDGET_USD,
})

export const isProduction = (config: Config) => config.ENVIRONMENT === 'production'
export const redisUrl = (config: Config) => config.REDIS_URL ?? config.UPSTASH_REDIS_URL
export const workerQueues = (config: Config): readonly QueueName[] => config.WORKER_QUEUES ?? QUEUE_NAMES
/** Where links in emails point (the one-click unsubscribe), without a trailing slash. */
export const publicUrl = (config: Config) =>
  (config.PUBLIC_URL ?? `http://localhost:${config.PORT}`).replace(/\/+$/, '')

/** The SMTP server alert emails go through, or undefined: the email channel is off. */
export function smtpSettings(config: Config) {
  if (config.SMTP_URL) return { url: config.SMTP_URL }
  if (!config.SMTP_SERVER) return undefined
  return {
    host: config.SMTP_SERVER,
    port: config.SMTP_PORT,
    secure: config.SMTP_PORT === 465,
    ...(config.SMTP_USERNAME ? { auth: { user: config.SMTP_USERNAME, pass: config.SMTP_PASSWORD ?? '' } } : {}),
  }
}
export type SmtpSettings = NonNullable<ReturnType<typeof smtpSettings>>

/** Whether push endpoints may be private addresses (a test's local push service); never in production. */
export const pushAllowsPrivateEndpoints = (config: Config) => config.PUSH_ALLOW_PRIVATE_ENDPOINTS === true

export const migrateOnStart = (config: Config) => config.MIGRATE_ON_START ?? !isProduction(config)

/** What `pam config check` prints: the mode, never a secret. */
export function describeMode(config: Config) {
  return {
    environment: config.ENVIRONMENT,
    database: config.DATABASE_URL
      ? 'external PostgreSQL (DATABASE_URL)'
      : `embedded PostgreSQL under ${config.PAM_HOME}/`,
    mode: redisUrl(config)
      ? 'redis (queues, bus and cache on Redis)'
      : 'postgres-only (queues, bus and cache on PostgreSQL)',
    auth: config.JWT_JWKS_URL
      ? 'JWKS (asymmetric keys)'
      : config.JWT_SECRET
        ? 'HS256 shared secret'
        : 'HS256 dev secret',
    migrateOnStart: migrateOnStart(config),
    listen: `${config.HOST}:${config.PORT}`,
  }
}
