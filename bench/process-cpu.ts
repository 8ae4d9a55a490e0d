import { readdirSync, readFileSync } from 'node:fs'

import pg from 'pg'

/**
 * CPU seconds (user + system) so far of each named process (or group of processes, summed: the
 * backends of one database), and PostgreSQL's and Redis's summed over every process of that name
 * on the machine (backends of every database, WAL writer…: on a shared machine, others' work too).
 * Linux's /proc; empty elsewhere.
 */
export function cpuSeconds(pids: Record<string, number | readonly number[] | undefined>): Record<string, number> {
  const ticks = (stat: string) => {
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100 // utime, stime; USER_HZ is 100 on Linux
  }
  const seconds: Record<string, number> = {}
  const read = (pid: number | string) => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8')
    } catch {
      return undefined
    }
  }
  for (const [name, group] of Object.entries(pids)) {
    for (const pid of [group ?? []].flat()) {
      const stat = read(pid)
      if (stat) seconds[name] = (seconds[name] ?? 0) + ticks(stat)
    }
  }
  let entries: string[] = []
  try {
    entries = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))
  } catch {
    return seconds
  }
  for (const pid of entries) {
    const stat = read(pid)
    const name = stat?.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
    if (stat && (name === 'postgres' || name === 'redis-server' || name === 'pgbouncer'))
      seconds[name] = (seconds[name] ?? 0) + ticks(stat)
  }
  return seconds
}

/**
 * The pids of the PostgreSQL backends connected to `databaseUrl`'s database now (its pools'
 * connections): their CPU is that database's work alone, whatever else the server runs.
 */
export async function databaseBackends(databaseUrl: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const { rows } = await client.query<{ pid: number }>(
      'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
    )
    return rows.map((row) => row.pid)
  } finally {
    await client.end()
  }
}

/**
 * Starts measuring the CPU of `databaseUrl`'s backends; the returned function gives the seconds
 * they spent since, counting the backends opened meanwhile from their start. A backend that closed
 * meanwhile (a pool's idle connection) is left out whole, so the figure never goes below zero.
 */
export async function databaseCpu(databaseUrl: string): Promise<() => Promise<number>> {
  const each = (pids: readonly number[]) => {
    const seconds = new Map<number, number>()
    for (const pid of pids) {
      const used = cpuSeconds({ backend: pid }).backend
      if (used !== undefined) seconds.set(pid, used)
    }
    return seconds
  }
  const start = each(await databaseBackends(databaseUrl))
  return async () => {
    let seconds = 0
    for (const [pid, now] of each(await databaseBackends(databaseUrl))) seconds += now - (start.get(pid) ?? 0)
    return seconds
  }
}
