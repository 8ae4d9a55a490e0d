import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { atExit, TEST_FOLDER_PREFIX, TEST_RUN } from './cleanup.js'
import { eventually } from './harness.js'
import { freePort } from './process.js'

const run = promisify(execFile)

/** Why a local Redis Cluster cannot run here, or undefined when it can. */
export function redisClusterUnavailable(): string | undefined {
  for (const binary of ['redis-server', 'redis-cli']) {
    try {
      execFileSync(binary, ['--version'], { stdio: 'ignore' })
    } catch {
      return `${binary} is not installed, so no local Redis Cluster can be started`
    }
  }
  return undefined
}

export interface RedisCluster {
  /** One node's URL: the seed PAM is given, as a managed cluster's configuration endpoint. */
  url: string
  /** Every node's port, masters and replicas, in the order they were started. */
  ports: number[]
  /** The ports of the nodes that serve slots now, ordered by their first slot. */
  masters(): Promise<number[]>
  /** The port of the master that holds `key`'s slot now. */
  ownerOf(key: string): Promise<number>
  /** Runs a command on one node (redis-cli), returning its raw reply. */
  command(port: number, ...args: string[]): Promise<string>
  /**
   * kill -9 on the `n`th master (by first slot), as a crashed machine: its replica is promoted
   * once the others notice (cluster-node-timeout). Resolves with the killed node's port.
   */
  killMaster(n: number): Promise<number>
  /** Resolves once every live node says cluster_state:ok, every master answers and every replica is in sync. */
  healthy(timeoutMs?: number): Promise<void>
  stop(): Promise<void>
}

// The cluster bus listens on the node's port + 10000, which must be free too.
async function freeNodePort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort()
    if (port + 10_000 > 65_535 || taken.has(port) || taken.has(port + 10_000)) continue
    const bus = createServer()
    const free = await new Promise<boolean>((resolve) => {
      bus.once('error', () => resolve(false))
      bus.listen(port + 10_000, '127.0.0.1', () => resolve(true))
    })
    if (free) await new Promise((resolve) => bus.close(resolve))
    if (!free) continue
    taken.add(port)
    taken.add(port + 10_000)
    return port
  }
}

/**
 * A Redis Cluster of this test's own: three masters and three replicas from the machine's
 * redis-server, persistent as production runs it (AOF fsynced every second, no eviction), in a
 * folder of the run. Killed and removed when the test process ends, however it ends.
 */
export async function redisCluster(options: { nodes?: number } = {}): Promise<RedisCluster> {
  const count = options.nodes ?? 6
  const home = mkdtempSync(join(tmpdir(), `${TEST_FOLDER_PREFIX}${TEST_RUN ? `${TEST_RUN}-` : ''}redis-cluster-`))
  const servers = new Map<number, ChildProcess>()
  const killAll = () => {
    for (const server of servers.values()) server.kill('SIGKILL')
  }
  const forget = atExit(() => {
    killAll()
    rmSync(home, { recursive: true, force: true })
  })
  const command = async (port: number, ...args: string[]) =>
    (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 })).stdout.trim()
  const alive = (port: number) => {
    const server = servers.get(port)
    return server !== undefined && server.exitCode === null && server.signalCode === null
  }
  const probe = () => {
    const port = [...servers.keys()].find(alive)
    if (port === undefined) throw new Error('no node of the cluster runs')
    return port
  }
  /** The masters that serve slots, by first slot, with their slot ranges (CLUSTER NODES). */
  const serving = async () =>
    (await command(probe(), 'cluster', 'nodes'))
      .split('\n')
      .map((line) => line.split(' '))
      .filter((fields) => fields[2]?.includes('master') && !fields[2].includes('fail') && fields[8] !== undefined)
      .map((fields) => ({
        port: Number(fields[1]?.split(/[:@]/)[1]),
        ranges: fields.slice(8).map((range) => range.split('-').map(Number)),
      }))
      .sort((a, b) => (a.ranges[0]?.[0] ?? 0) - (b.ranges[0]?.[0] ?? 0))
  const masters = async () => (await serving()).map((node) => node.port)
  const ownerOf = async (key: string) => {
    const slot = Number(await command(probe(), 'cluster', 'keyslot', key))
    const owner = (await serving()).find((node) =>
      node.ranges.some(([first = 0, last = first]) => slot >= first && slot <= last),
    )
    if (!owner) throw new Error(`no master serves slot ${slot}`)
    return owner.port
  }
  const healthy = async (timeoutMs = 60_000) => {
    await eventually(
      async () => {
        try {
          for (const port of servers.keys()) {
            if (!alive(port)) continue
            if (!(await command(port, 'cluster', 'info')).includes('cluster_state:ok')) return undefined
            // A replica still in its first sync has no data to take over with: it would refuse
            // to be promoted, and the cluster would stay down when its master is killed.
            const replication = await command(port, 'info', 'replication')
            if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) return undefined
          }
          const serving = await masters()
          if (serving.length < 3 || !serving.every(alive)) return undefined
          for (const port of serving) if ((await command(port, 'ping')) !== 'PONG') return undefined
          return true
        } catch {
          return undefined
        }
      },
      timeoutMs,
      'the Redis Cluster to be healthy (cluster_state:ok on every node)',
    )
  }
  const stop = async () => {
    const running = [...servers.values()].filter((server) => server.exitCode === null && server.signalCode === null)
    killAll()
    await Promise.all(running.map((server) => new Promise((resolve) => server.once('exit', resolve))))
    forget()
    rmSync(home, { recursive: true, force: true })
  }
  try {
    const taken = new Set<number>()
    const ports: number[] = []
    for (let i = 0; i < count; i++) ports.push(await freeNodePort(taken))
    for (const port of ports) {
      const dir = join(home, String(port))
      mkdirSync(dir)
      // Its environment carries the run's id: the runner finds a node a killed test left running.
      const server = spawn(
        'redis-server',
        [
          ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
          ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
          // Short, so a killed master's replica is promoted within seconds, not the default 15 s.
          ...['--cluster-node-timeout', '2000'],
          ...['--logfile', join(dir, 'redis.log')],
          ...['--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--maxmemory-policy', 'noeviction'],
        ],
        { stdio: 'ignore', env: { PATH: process.env.PATH ?? '', ...(TEST_RUN ? { PAM_TEST_RUN: TEST_RUN } : {}) } },
      )
      servers.set(port, server)
    }
    for (const port of ports) {
      await eventually(
        async () => ((await command(port, 'ping').catch(() => '')) === 'PONG' ? true : undefined),
        10_000,
        `Redis Cluster node ${port}`,
      )
    }
    await run(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '1', '--cluster-yes'],
      { timeout: 60_000 },
    )
    await healthy()
    const seed = ports[0] as number
    return {
      url: `redis://127.0.0.1:${seed}`,
      ports,
      masters,
      ownerOf,
      command,
      async killMaster(n) {
        const port = (await masters())[n]
        if (port === undefined) throw new Error(`the cluster has no master number ${n}`)
        const server = servers.get(port) as ChildProcess
        server.kill('SIGKILL')
        await new Promise((resolve) => server.once('exit', resolve))
        return port
      },
      healthy,
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}
