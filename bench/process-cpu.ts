import { readdirSync, readFileSync } from 'node:fs'

/**
 * CPU seconds (user + system) so far of each process: PAM's by pid, PostgreSQL's and Redis's
 * summed over every process of that name (backends, WAL writer…). Linux's /proc; empty elsewhere.
 */
export function cpuSeconds(pids: Record<string, number | undefined>): Record<string, number> {
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
  for (const [name, pid] of Object.entries(pids)) {
    const stat = pid === undefined ? undefined : read(pid)
    if (stat) seconds[name] = ticks(stat)
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
