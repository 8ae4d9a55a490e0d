import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import pg from 'pg'
import { VEHICLE } from '../helpers/api.js'
import { eventually, inBothModes, testEnv } from '../helpers/harness.js'
import { freePort, type PamProcess, spawnPam } from '../helpers/process.js'
import { answers, remoteTraveller } from '../helpers/remote-api.js'
import { uniqueName } from '../helpers/services.js'
import { replicaUnavailable, type StreamingReplica, startStreamingReplica } from '../helpers/streaming-replica.js'

const noReplica = replicaUnavailable()

const names = async (traveller: Awaited<ReturnType<typeof remoteTraveller>>) => {
  const listed = await traveller.call('GET', '/v1/vehicles')
  assert.equal(listed.status, 200, JSON.stringify(listed.body))
  return (listed.body.items as { name: string }[]).map((vehicle) => vehicle.name).sort()
}

/**
 * List pages on a real streaming replica (DATABASE_READ_URL), PAM's API as a process: the lists
 * come from the replica, a traveller who just wrote reads their write at once, and a replica that
 * stops answering sends reads to the primary.
 */
inBothModes('list pages on a read replica', (mode) => {
  let servers: StreamingReplica
  let api: PamProcess
  let base: string
  let database: string

  before(async () => {
    if (noReplica) return
    servers = await startStreamingReplica()
    database = uniqueName('pam_test')
    const admin = new pg.Client({ connectionString: servers.primaryUrl })
    await admin.connect()
    await admin.query(`create database ${database}`)
    await admin.end()
    const on = (url: string) => url.replace(/\/postgres$/, `/${database}`)
    const port = await freePort()
    api = spawnPam(
      ['api'],
      testEnv(mode, on(servers.primaryUrl), { DATABASE_READ_URL: on(servers.replicaUrl), PORT: String(port) }),
    )
    base = `127.0.0.1:${port}`
    await answers(base, '/health', 200)
  })
  after(async () => {
    await api?.stop('SIGTERM')
    servers?.stop()
  })

  /** Adds a vehicle for `userId` on the primary with plain SQL: nothing tells PAM it was written. */
  const insertBehindPam = async (userId: string, name: string) => {
    const primary = new pg.Client({ connectionString: servers.primaryUrl.replace(/\/postgres$/, `/${database}`) })
    await primary.connect()
    try {
      await primary.query(
        `insert into vehicles (user_id, name, fuel_capacity_l, consumption_l_per_100km) values ($1, $2, 80, 12.5)`,
        [userId, name],
      )
    } finally {
      await primary.end()
    }
  }

  it('lists from the replica, a writer reads their own write at once, and the primary answers when the replica is gone', {
    skip: noReplica,
  }, async () => {
    const reader = await remoteTraveller(base)
    const writer = await remoteTraveller(base)
    // The API migrates the primary in the background after it listens.
    await eventually(
      async () =>
        (await reader.call('POST', '/v1/vehicles', { ...VEHICLE, name: 'first' })).status === 201 || undefined,
      60_000,
      'the first write',
    )
    // Once the replica has it, the reader's list is the replica's.
    await eventually(async () => ((await names(reader)).length === 1 ? true : undefined), 30_000, 'the replica')
    // A list of one may have come from the primary (the replica short of the reader's write, which
    // in Postgres-only mode the queue's own writes follow closely): the replica has it all first.
    await servers.caughtUp()

    await servers.pauseReplay(true)
    await insertBehindPam(reader.id, 'behind')
    // The replica has not replayed that row, and the reader's list is still the replica's.
    assert.deepEqual(await names(reader), ['first'])

    // A write through the API: its writer reads it back at once, from the primary.
    assert.equal((await writer.call('POST', '/v1/vehicles', { ...VEHICLE, name: 'mine' })).status, 201)
    assert.deepEqual(await names(writer), ['mine'])

    await servers.pauseReplay(false)
    await eventually(async () => ((await names(reader)).length === 2 ? true : undefined), 30_000, 'the replay')
    assert.deepEqual(await names(reader), ['behind', 'first'])

    servers.stopReplica()
    assert.deepEqual(await names(reader), ['behind', 'first'])
    assert.deepEqual(await names(writer), ['mine'])
  })
})
