import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import type { Config } from '../../platform/config.js'

/** What a command listens on, or starts a server on. */
export interface PortNeeds {
  /** The API (PORT on HOST). */
  api: boolean
  /** A worker's or scheduler's own /metrics (METRICS_PORT, when set). */
  metrics: boolean
  /** The embedded PostgreSQL, when no DATABASE_URL is set and this clone's server is not running. */
  embedded: boolean
}

type PortVariable = 'PORT' | 'METRICS_PORT' | 'EMBEDDED_DATABASE_PORT'
const WHAT: Record<PortVariable, string> = {
  PORT: 'the API',
  METRICS_PORT: 'the metrics endpoint',
  EMBEDDED_DATABASE_PORT: 'the embedded PostgreSQL',
}
// How far past a taken port PAM looks for a free one (a few clones at most in practice).
const SEARCH = 100
const REMEMBERED = 'ports.json'

export interface SettledPorts {
  config: Config
  /** What PAM chose and why, for the terminal; empty when nothing was chosen. */
  notes: string[]
  /** Keeps the chosen ports for this clone's next commands: called once the start succeeded. */
  remember(): Promise<void>
}

/** Thrown when ports that were given are taken: every one of them named in one message. */
export class PortConflict extends Error {
  override name = 'PortConflict'
}

/**
 * The ports a command will use, checked before anything is created. In development, a port that
 * was not given (PORT, EMBEDDED_DATABASE_PORT unset) and is taken — another clone runs PAM — is
 * replaced by a free one, said in `notes` and, once `remember` is called, kept in PAM_HOME so
 * this clone's other commands (`npx pam watch`, `npx pam demo`, the ops commands) find it. Taken
 * ports that were given, or any outside development, are a PortConflict naming each of them.
 * A command that only talks to this clone's servers (needs all false) takes the remembered ports,
 * and the port of the embedded server when it is running.
 */
export async function settleLocalPorts(
  config: Config,
  env: Record<string, string | undefined>,
  needs: PortNeeds,
  runningDatabasePort: number | undefined,
): Promise<SettledPorts> {
  const development = config.ENVIRONMENT === 'development'
  const remembered = development ? await readRemembered(config.PAM_HOME) : {}
  const settled: Record<PortVariable, number | undefined> = {
    PORT: config.PORT,
    METRICS_PORT: config.METRICS_PORT,
    EMBEDDED_DATABASE_PORT: config.EMBEDDED_DATABASE_PORT,
  }
  const conflicts: string[] = []
  const picked: Partial<Record<PortVariable, number>> = {}
  const notes: string[] = []

  const settle = async (variable: PortVariable, host: string) => {
    const given = Boolean(env[variable])
    const wanted = (given ? settled[variable] : (remembered[variable] ?? settled[variable])) as number
    settled[variable] = wanted
    if (await canListen(host, wanted)) return
    const free = await freePortAfter(host, wanted, Object.values(settled))
    if (given || !development || variable === 'METRICS_PORT' || free === undefined) {
      conflicts.push(
        `${variable} ${wanted} (${WHAT[variable]})${free === undefined ? '' : `, e.g. ${variable}=${free}`}`,
      )
      return
    }
    settled[variable] = free
    picked[variable] = free
    notes.push(`port ${wanted} is taken (another PAM clone?): ${WHAT[variable]} uses ${free}`)
  }

  if (needs.api) await settle('PORT', config.HOST)
  else if (!env.PORT && remembered.PORT) settled.PORT = remembered.PORT
  if (needs.metrics && config.METRICS_PORT !== undefined) await settle('METRICS_PORT', config.HOST)
  if (!config.DATABASE_URL) {
    // One server per PAM_HOME: whoever started it, on whatever port, every command uses it.
    if (runningDatabasePort) settled.EMBEDDED_DATABASE_PORT = runningDatabasePort
    else if (needs.embedded) await settle('EMBEDDED_DATABASE_PORT', '127.0.0.1')
    else if (!env.EMBEDDED_DATABASE_PORT && remembered.EMBEDDED_DATABASE_PORT)
      settled.EMBEDDED_DATABASE_PORT = remembered.EMBEDDED_DATABASE_PORT
  }
  if (conflicts.length > 0) {
    throw new PortConflict(
      `in use (another PAM clone, or another server): ${conflicts.join('; ')}. Set ${conflicts.length > 1 ? 'them' : 'it'} to free ports${development ? ', or leave them unset in development and PAM picks free ones' : ''}`,
    )
  }
  if (notes.length > 0)
    notes.push(`kept for this clone in ${join(config.PAM_HOME, REMEMBERED)}; set the variables to choose`)
  return {
    config: Object.freeze({
      ...config,
      PORT: settled.PORT as number,
      METRICS_PORT: settled.METRICS_PORT,
      EMBEDDED_DATABASE_PORT: settled.EMBEDDED_DATABASE_PORT as number,
    }),
    notes,
    remember: () =>
      Object.keys(picked).length > 0
        ? writeRemembered(config.PAM_HOME, { ...remembered, ...picked })
        : Promise.resolve(),
  }
}

/** Whether a server could listen on host:port now (nothing else holds it). */
export function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer()
    probe.once('error', () => resolve(false))
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)))
  })
}

async function freePortAfter(host: string, port: number, taken: (number | undefined)[]): Promise<number | undefined> {
  for (let candidate = port + 1; candidate < Math.min(port + SEARCH, 65_536); candidate++) {
    if (!taken.includes(candidate) && (await canListen(host, candidate))) return candidate
  }
  return undefined
}

async function readRemembered(home: string): Promise<Partial<Record<PortVariable, number>>> {
  const text = await readFile(join(home, REMEMBERED), 'utf8').catch(() => undefined)
  if (!text) return {}
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>
    return Object.fromEntries(
      Object.entries(parsed).filter(([key, value]) => key in WHAT && Number.isInteger(value)),
    ) as Partial<Record<PortVariable, number>>
  } catch {
    // A damaged file is as good as none: the defaults, and a fresh choice if they are taken.
    return {}
  }
}

async function writeRemembered(home: string, ports: Partial<Record<PortVariable, number>>) {
  await mkdir(home, { recursive: true })
  const file = join(home, REMEMBERED)
  await writeFile(`${file}.${process.pid}`, `${JSON.stringify(ports, null, 2)}\n`)
  await rename(`${file}.${process.pid}`, file)
}
