import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { Queue } from 'bullmq'
import { Cluster } from 'ioredis'
import pg from 'pg'
import { userToken, VEHICLE } from '../helpers/api.js'
import { eventually, testEnv } from '../helpers/harness.js'
import { freePort, type PamProcess, spawnPam } from '../helpers/process.js'
import { type RedisCluster, redisCluster, redisClusterUnavailable } from '../helpers/redis-cluster.js'
import { answers, callApi, fuelAlertRoundTrip, remoteTraveller } from '../helpers/remote-api.js'
import { createTestDatabase, uniqueName } from '../helpers/services.js'

// Generous for a loaded machine; a write's evaluation runs within milliseconds.
const PROMPTLY_MS = 30_000
const LIMIT = 30
// The fault test's load: writes per second, how long before and after the kill, over enough
// travellers that none reaches the rate limit (each writes well under LIMIT in a minute).
const WRITES_PER_SECOND = 50
const WRITERS = 40
const noCluster = redisClusterUnavailable()
const QUEUES = ['analytics', 'maintenance', 'notifications']

/**
 * A key prefix of the run whose three queue hash tags fall on more than one master. Each queue
 * has a slot of its own; which master holds it is chance (1 in 9 that all three share one), and
 * the test asserts what the tags allow, so it picks a prefix where chance does not hide it.
 */
async function spreadPrefix(cluster: RedisCluster): Promise<string> {
  for (;;) {
    const prefix = uniqueName('pamtest')
    const owners = new Set<number>()
    for (const queue of QUEUES) owners.add(await cluster.ownerOf(`{${prefix}:${queue}}`))
    if (owners.size > 1) return prefix
  }
}

/**
 * PAM on a Redis Cluster of three masters with a replica each (REDIS_CLUSTER, REDIS_URL one
 * node), as deployed: two APIs, a worker and a scheduler, each a process.
 */
describe('PAM on a Redis Cluster', { skip: noCluster }, () => {
  let cluster: RedisCluster
  let database: { url: string; drop(): Promise<void> }
  let env: Record<string, string>
  const bases: string[] = []
  const running: PamProcess[] = []
  const start = (args: string[], extra: Record<string, string> = {}) => {
    const pam = spawnPam(args, { ...env, ...extra })
    running.push(pam)
    return pam
  }
  /** What a `pam` command prints as JSON, run against this deployment. */
  const pamJson = async (args: string[]) => {
    const pam = spawnPam([...args, '--json'], env)
    assert.equal(await pam.exited, 0, pam.output())
    return JSON.parse(pam.output().slice(pam.output().search(/^[[{]/m)))
  }

  before(async () => {
    if (noCluster) return
    cluster = await redisCluster()
    database = await createTestDatabase()
    const closed = `http://127.0.0.1:${await freePort()}`
    env = testEnv('redis', database.url, {
      REDIS_URL: cluster.url,
      REDIS_PREFIX: await spreadPrefix(cluster),
      REDIS_CLUSTER: 'true',
      // Every node, as the nodes of a cluster without a configuration endpoint are given: the test
      // kills a master, which may be REDIS_URL's.
      REDIS_CLUSTER_NODES: cluster.ports.map((port) => `127.0.0.1:${port}`).join(','),
      RATE_LIMIT_PER_MINUTE: String(LIMIT),
      // Every second: the test sees the drainer run without waiting for its production cadence.
      SCHEDULE_EVALUATION_DRAIN: '* * * * * *',
      PLACES_API_URL: closed,
      WEATHER_API_URL: closed,
      // Warnings only: what a failure message quotes of the failover.
      LOG_LEVEL: 'warn',
    })
    for (let i = 0; i < 2; i++) {
      const port = String(await freePort())
      bases.push(`127.0.0.1:${port}`)
      start(['api'], { PORT: port })
    }
    start(['worker'])
    start(['scheduler'])
    for (const base of bases) await answers(base, '/ready', 200)
  })
  after(async () => {
    await Promise.all(running.map((pam) => pam.stop('SIGKILL')))
    await cluster?.stop()
    await database?.drop()
  })

  /**
   * What a failure after the failover is to be read with: the queue's jobs by state, whether the
   * write's evaluation is still owed (its mark) or done (its alert), and what each process said.
   */
  const afterFailover = async (vehicleId: string) => {
    const lines: string[] = []
    const connection = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })))
    const queue = new Queue('notifications', { connection, prefix: `{${env.REDIS_PREFIX}:notifications}` })
    try {
      lines.push(`notifications queue: ${JSON.stringify(await queue.getJobCounts())}`)
    } catch (error) {
      lines.push(`notifications queue unreadable: ${(error as Error).message}`)
    } finally {
      await queue.close()
      connection.disconnect()
    }
    const client = new pg.Client({ connectionString: database.url })
    try {
      await client.connect()
      const { rows } = await client.query(
        `select (select count(*)::int from evaluation_marks) as marks,
                (select count(*)::int from alerts where data->>'vehicleId' = $1) as alerts`,
        [vehicleId],
      )
      lines.push(`marks waiting: ${rows[0].marks}; alerts of the new vehicle: ${rows[0].alerts}`)
    } catch (error) {
      lines.push(`the database unreadable: ${(error as Error).message}`)
    } finally {
      await client.end().catch(() => undefined)
    }
    const roles = ['api 1', 'api 2', 'worker', 'scheduler']
    running.forEach((pam, i) => {
      const said = pam
        .output()
        .split('\n')
        .filter((line) => /"level":[45]0/.test(line))
      lines.push(`${roles[i] ?? `process ${i}`}: ${said.length} warnings or errors, the last:`, ...said.slice(-12))
    })
    return lines.join('\n')
  }

  it('raises a low reading as an alert on the socket and in GET /v1/alerts, and resolves it', async () => {
    const traveller = await remoteTraveller(bases[0] as string)
    const stream = await traveller.stream()
    try {
      const vehicle = await traveller.call('POST', '/v1/vehicles', VEHICLE)
      assert.equal(vehicle.status, 201, JSON.stringify(vehicle.body))
      await fuelAlertRoundTrip(traveller, stream, vehicle.body.id, PROMPTLY_MS)
    } finally {
      stream.close()
    }
  })

  it("counts a traveller's requests to both APIs against one limit: 429 once it is reached", async () => {
    const token = await userToken()
    const statuses: number[] = []
    for (let i = 0; i < LIMIT + 2; i++) {
      statuses.push((await callApi(bases[i % 2] as string, token, 'GET', '/v1/vehicles')).status)
    }
    assert.deepEqual(statuses, [...Array(LIMIT).fill(200), 429, 429])
  })

  it('replays a POST with the same Idempotency-Key, to either API, storing it once', async () => {
    const token = await userToken()
    const key = { 'idempotency-key': randomUUID() }
    const first = await callApi(bases[0] as string, token, 'POST', '/v1/vehicles', VEHICLE, key)
    const again = await callApi(bases[1] as string, token, 'POST', '/v1/vehicles', VEHICLE, key)
    assert.equal(first.status, 201, JSON.stringify(first.body))
    assert.equal(again.status, 201, JSON.stringify(again.body))
    assert.equal(again.body.id, first.body.id)
    assert.equal((await callApi(bases[0] as string, token, 'GET', '/v1/vehicles')).body.items.length, 1)
  })

  it('has the schedules in place and runs the drainer', async () => {
    const scheduled = (await pamJson(['inspect', 'scheduled'])) as { id: string; queue: string }[]
    const ids = scheduled.map((schedule) => schedule.id)
    for (const id of ['pam-evaluation-drain', 'pam-delivery-drain', 'pam-housekeeping'])
      assert.ok(ids.includes(id), `${id} in ${ids.join(', ')}`)
    // The drain runs every second here: its completed runs are in the queue's own slot, where a
    // BullMQ client that knows the layout finds them.
    const connection = new Cluster([{ host: '127.0.0.1', port: cluster.ports[0] as number }])
    const notifications = new Queue('notifications', {
      connection,
      prefix: `{${env.REDIS_PREFIX}:notifications}`,
    })
    try {
      await eventually(
        async () => {
          const runs = (await notifications.getCompleted(0, 500)).filter((job) => job.name === 'evaluations.drain')
          return runs.length >= 2 ? true : undefined
        },
        PROMPTLY_MS,
        'the drainer to complete two runs',
      )
    } finally {
      await notifications.close()
      connection.disconnect()
    }
  })

  it("spreads the queues over the masters: each queue's keys in one slot, the queues on more than one master", async () => {
    const prefix = env.REDIS_PREFIX as string
    const mastersOf = new Map<string, Set<number>>()
    for (const port of await cluster.masters()) {
      const keys = (await cluster.command(port, '--scan', '--pattern', `{${prefix}:*`)).split('\n').filter(Boolean)
      for (const key of keys) {
        const queue = /^\{[^:]+:([^}]+)\}/.exec(key)?.[1] as string
        mastersOf.set(queue, (mastersOf.get(queue) ?? new Set()).add(port))
      }
    }
    assert.deepEqual([...mastersOf.keys()].sort(), QUEUES)
    for (const [queue, ports] of mastersOf) assert.equal(ports.size, 1, `${queue} lives on one master`)
    const used = new Set([...mastersOf.values()].flatMap((ports) => [...ports]))
    assert.ok(used.size > 1, `the three queues on ${used.size} master(s)`)
  })

  // Last: it takes a master away for good (its replica serves from then on).
  it('loses no accepted write and raises no duplicate alert when a master is killed under load; serves again without a restart', async (t) => {
    const base = bases[0] as string
    const writers = await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        const traveller = await remoteTraveller(base)
        const vehicle = await traveller.call('POST', '/v1/vehicles', VEHICLE)
        assert.equal(vehicle.status, 201, JSON.stringify(vehicle.body))
        return { traveller, vehicleId: vehicle.body.id as string }
      }),
    )
    // A socket open through the failover: the bus must carry alerts again afterwards.
    const watcher = writers[0] as (typeof writers)[number]
    const stream = await watcher.traveller.stream()
    const accepted: { id: string; vehicleId: string }[] = []
    const refused: number[] = []
    const inFlight: Promise<void>[] = []
    const write = async (writer: (typeof writers)[number]) => {
      const response = await writer.traveller.call('POST', `/v1/vehicles/${writer.vehicleId}/fuel-readings`, {
        percent: 15,
      })
      if (response.status === 201) accepted.push({ id: response.body.id, vehicleId: writer.vehicleId })
      else refused.push(response.status)
    }
    // Bounded: it stops itself after `seconds`, whatever the test does meanwhile.
    const load = async (seconds: number) => {
      const started = Date.now()
      for (let i = 0; i < seconds * WRITES_PER_SECOND; i++) {
        inFlight.push(write(writers[i % WRITERS] as (typeof writers)[number]))
        // On the clock, not a fixed pause: a late tick (a loaded machine) is made up by the next.
        const next = started + ((i + 1) * 1000) / WRITES_PER_SECOND
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())))
      }
    }
    const notificationsMaster = await cluster.ownerOf(`{${env.REDIS_PREFIX}:notifications}`)
    const loading = load(12)
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    const killed = await cluster.killMaster((await cluster.masters()).indexOf(notificationsMaster))
    const killedAt = Date.now()
    await cluster.healthy()
    const failoverMs = Date.now() - killedAt
    assert.notEqual(await cluster.ownerOf(`{${env.REDIS_PREFIX}:notifications}`), killed, 'a replica took over')
    await loading
    await Promise.all(inFlight)
    t.diagnostic(
      `${accepted.length} writes accepted, ${refused.length} refused; the replica served ${failoverMs} ms after the kill`,
    )
    try {
      // Refusals while the shard changes hands are allowed (the traveller retries); an accepted
      // write is stored exactly once and evaluated.
      assert.ok(accepted.length > WRITES_PER_SECOND * 9, `${accepted.length} accepted, refused: ${refused.join(',')}`)
      assert.deepEqual(
        refused.filter((status) => status !== 503),
        [],
        'nothing but 503 while the shard moves',
      )
      const client = new pg.Client({ connectionString: database.url })
      await client.connect()
      try {
        const stored = await client.query<{ id: string; copies: number }>(
          'select id, count(*)::int as copies from fuel_readings where id = any($1) group by id',
          [accepted.map((reading) => reading.id)],
        )
        assert.equal(stored.rows.length, accepted.length, 'every accepted reading is stored')
        assert.deepEqual(
          stored.rows.filter((row) => row.copies !== 1),
          [],
        )
        // Every vehicle is low: each gets its alert once, whichever evaluation (a job, or the
        // drainer for a job lost with the master) raised it.
        const open = await eventually(
          async () => {
            const { rows } = await client.query<{ condition: string; alerts: number }>(
              `select split_part(dedupe_key, '|', 1) as condition, count(*)::int as alerts from alerts
               where kind = 'fuel_low' and resolved_at is null and user_id = any($1) group by 1`,
              [writers.map((writer) => writer.traveller.id)],
            )
            return rows.length === WRITERS ? rows : undefined
          },
          PROMPTLY_MS,
          'an alert for every vehicle',
        )
        assert.deepEqual(
          open.filter((row) => row.alerts !== 1),
          [],
          'one open alert per condition',
        )
      } finally {
        await client.end()
      }
      // Serving again, the same processes: a new low vehicle's alert reaches the socket opened
      // before the kill.
      const another = await watcher.traveller.call('POST', '/v1/vehicles', VEHICLE)
      assert.equal(another.status, 201)
      const low = await watcher.traveller.call('POST', `/v1/vehicles/${another.body.id}/fuel-readings`, {
        percent: 10,
      })
      assert.equal(low.status, 201)
      await stream
        .next(
          (m) =>
            m.type === 'alert.created' &&
            (m.alert as { data?: { vehicleId?: string } }).data?.vehicleId === another.body.id,
          PROMPTLY_MS,
        )
        .catch(async (error: Error) => {
          throw new Error(`${error.message}\n${await afterFailover(another.body.id)}`)
        })
    } finally {
      stream.close()
    }
  })
})
