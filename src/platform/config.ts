import Type, { type StaticDecode } from 'typebox'
import Value from 'typebox/value'
import { QUEUE_NAMES, type QueueName } from './backend/queue-names.js'
import { AiFields, parsePrices } from './config/ai.js'
import { DeliveryFields } from './config/delivery.js'
import { HttpEdgeFields } from './config/http-edge.js'
import { LifecycleFields } from './config/lifecycle.js'
import { MonitoringFields } from './config/monitoring.js'
import { OperationsFields } from './config/operations.js'
import { ServerFields } from './config/server.js'
import { DEFAULT_PRICES, type PriceTable } from './model-prices.js'

/**
 * Every environment variable PAM reads, with its default, one section per concern (config/):
 * `Config` is derived from this one schema, so the two cannot drift, and `pam config check`
 * validates with the same object. The order is the order of the generated docs.
 */
export const EnvSchema = Type.Object({
  ...ServerFields,
  ...MonitoringFields,
  ...AiFields,
  ...DeliveryFields,
  ...LifecycleFields,
  ...OperationsFields,
  ...HttpEdgeFields,
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
  const clusterOn = ['true', '1'].includes(text('REDIS_CLUSTER') ?? '')
  if (text('REDIS_CLUSTER_NODES') && !clusterOn) problems.push('REDIS_CLUSTER_NODES is set without REDIS_CLUSTER=true')
  if (clusterOn) {
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
