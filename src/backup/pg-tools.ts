import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** pg_dump / pg_restore take the connection from libpq's environment: no password in `ps`. */
export function libpqEnvironment(databaseUrl: string): NodeJS.ProcessEnv {
  const url = new URL(databaseUrl)
  const sslmode = url.searchParams.get('sslmode')
  return {
    ...process.env,
    PGHOST: decodeURIComponent(url.hostname),
    PGPORT: url.port || '5432',
    PGUSER: decodeURIComponent(url.username) || 'postgres',
    PGPASSWORD: decodeURIComponent(url.password),
    PGDATABASE: decodeURIComponent(url.pathname.slice(1)),
    ...(sslmode ? { PGSSLMODE: sslmode } : {}),
  }
}

/** The major version of a PostgreSQL client tool on PATH, or a clear error when it is missing. */
export async function toolMajorVersion(tool: 'pg_dump' | 'pg_restore'): Promise<number> {
  try {
    const { stdout } = await run(tool, ['--version'])
    const major = /(\d+)(?:\.\d+)?/.exec(stdout)?.[1]
    if (!major) throw new Error(`could not read the version ${tool} printed: ${stdout.trim()}`)
    return Number(major)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        `${tool} is not on PATH: install the PostgreSQL client tools (e.g. apt install postgresql-client)`,
      )
    }
    throw error
  }
}

/** A client older than the server cannot dump it; say which versions, and what to install. */
export function checkToolVersion(tool: string, clientMajor: number, serverMajor: number): void {
  if (clientMajor < serverMajor) {
    throw new Error(
      `${tool} ${clientMajor} is older than the server (PostgreSQL ${serverMajor}): install the PostgreSQL ${serverMajor} client tools and put them first on PATH`,
    )
  }
}

export async function runTool(tool: 'pg_dump' | 'pg_restore', args: string[], databaseUrl: string): Promise<void> {
  try {
    await run(tool, args, { env: libpqEnvironment(databaseUrl), maxBuffer: 16 * 1024 * 1024 })
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim()
    throw new Error(`${tool} failed: ${stderr || (error as Error).message}`)
  }
}
