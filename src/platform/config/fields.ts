import Type from 'typebox'
import { QUEUE_NAMES, type QueueName } from '../backend/queue-names.js'

// The kinds of value the environment's variables take, shared by the sections of the schema.

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export const ENVIRONMENTS = ['development', 'staging', 'production'] as const

const CRON_PATTERN = '^\\s*\\S+(\\s+\\S+){4,5}\\s*$'

/** `problem` is the sentence shown when a value fails its pattern; schemas stay plain JSON Schema. */
export const Url = (protocols: string[], description: string, extra: Record<string, unknown> = {}) =>
  Type.String({
    description,
    pattern: `^(${protocols.join('|')})://[^\\s/?#]+[^\\s]*$`,
    problem: `must be a ${protocols.map((p) => `${p}://`).join(' or ')} URL`,
    ...extra,
  })

/** When a schedule runs: a cron pattern in UTC, overridable per deployment. */
export const Cadence = (fallback: string, description: string) =>
  Type.String({
    pattern: CRON_PATTERN,
    problem: 'must be a cron pattern of 5 or 6 fields, e.g. "*/5 * * * *"',
    default: fallback,
    description: `when ${description} runs (cron, UTC)`,
  })

export const Flag = (description: string) =>
  Type.Codec(Type.Enum(['true', 'false', '1', '0'], { description }))
    .Decode((value) => value === 'true' || value === '1')
    .Encode((value) => (value ? 'true' : 'false'))

const queueAlternatives = QUEUE_NAMES.join('|')
export const QueueList = Type.Codec(
  Type.String({
    description: `comma-separated queues a worker consumes (${QUEUE_NAMES.join(', ')}); default: all`,
    pattern: `^\\s*(${queueAlternatives})\\s*(,\\s*(${queueAlternatives})\\s*)*$`,
    problem: `must be a comma-separated list of ${QUEUE_NAMES.join(', ')}`,
  }),
)
  .Decode((value) => [...new Set(value.split(',').map((part) => part.trim()))] as QueueName[])
  .Encode((list) => list.join(','))

const NODE = '[^\\s,:/]+:\\d{1,5}'
/** Redis Cluster nodes as `host:port`, comma-separated. */
export const NodeList = Type.Codec(
  Type.String({
    description:
      "comma-separated host:port of more Redis Cluster nodes to start from, beside REDIS_URL's (a cluster reached through one node cannot open a new connection while that node is down; a configuration endpoint needs none)",
    pattern: `^\\s*${NODE}\\s*(,\\s*${NODE}\\s*)*$`,
    problem: 'must be a comma-separated list of host:port',
  }),
)
  .Decode((value) =>
    value.split(',').map((part) => {
      const [host = '', port = ''] = part.trim().split(':')
      return { host, port: Number(port) }
    }),
  )
  .Encode((nodes) => nodes.map((node) => `${node.host}:${node.port}`).join(','))

/** Module specifiers, comma-separated: paths (relative to the working directory) or package names. */
export const ModuleList = (description: string) =>
  Type.Codec(
    Type.String({
      description,
      pattern: '^\\s*[^\\s,]+\\s*(,\\s*[^\\s,]+\\s*)*$',
      problem: 'must be a comma-separated list of module paths or package names',
    }),
  )
    .Decode((value) => value.split(',').map((part) => part.trim()))
    .Encode((list) => list.join(','))

export const OriginList = Type.Codec(
  Type.String({ description: 'comma-separated allowed CORS origins ("*" only outside production)' }),
)
  .Decode((value) =>
    value
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean),
  )
  .Encode((list) => list.join(','))
