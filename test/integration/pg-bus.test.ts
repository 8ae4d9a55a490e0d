import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { after, before, it } from 'node:test'
import pg from 'pg'
import { jsonText } from '../../src/platform/backend/backend.js'
import { createPgBus } from '../../src/platform/backend/pg-bus.js'
import { createLogger } from '../../src/platform/logger.js'
import { eventually } from '../helpers/harness.js'
import { createTestDatabase } from '../helpers/services.js'

let database: { url: string; drop(): Promise<void> }
before(async () => {
  database = await createTestDatabase()
})
after(() => database.drop())

it('a bus closed while its first connection is still being made leaves no connection behind, and no warning', async () => {
  const lines: string[] = []
  const logger = createLogger({
    level: 'warn',
    role: 'test',
    destination: new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        done()
      },
    }),
  })
  const pool = new pg.Pool({ connectionString: database.url, max: 1 })
  const name = new URL(database.url).pathname.slice(1)
  const busConnections = async () =>
    Number(
      (
        await pool.query("select count(*) from pg_stat_activity where datname = $1 and application_name = 'pam-bus'", [
          name,
        ])
      ).rows[0].count,
    )
  try {
    for (let round = 0; round < 5; round++) {
      const bus = createPgBus({ url: database.url, pool, prefix: 'pam', logger })
      // Subscribing starts the listening connection; a start that fails at once closes the bus
      // before that connection is up (as `pam start` did when its port was taken).
      const subscribed = bus.subscribe('alerts', () => undefined).catch(() => undefined)
      await bus.close()
      await subscribed
    }
    // A connection that outlived its bus would hold up the embedded server's shutdown, which then
    // cut it off ("bus connection lost" while PAM exits).
    await eventually(async () => ((await busConnections()) === 0 ? true : undefined), 5_000)
    assert.deepEqual(lines, [])
  } finally {
    await pool.end()
  }
})

it('hears every channel subscribed while its connection is being set up', async () => {
  // As under `pam start`: the worker's subscriptions start the listening connection, and the API's
  // arrive while it is still listening to the first ones (before, those were never listened to:
  // the API heard no alert until the stream's catch-up read it back, seconds later).
  const logger = createLogger({ level: 'silent', role: 'test' })
  const pool = new pg.Pool({ connectionString: database.url, max: 2 })
  const bus = createPgBus({ url: database.url, pool, prefix: 'pam', logger })
  try {
    const channels = Array.from({ length: 100 }, (_, at) => `channel-${at}`)
    const heard = new Set<string>()
    const subscribed: Promise<unknown>[] = []
    for (const channel of channels) {
      subscribed.push(bus.subscribe(channel, () => heard.add(channel)))
      // A moment apart, so that some arrive during each step of the set-up, however long it takes.
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
    await Promise.all(subscribed)
    for (const channel of channels) await bus.publish(channel, jsonText({ channel }))
    await eventually(async () => (heard.size === channels.length ? true : undefined), 10_000).catch(() => undefined)
    assert.deepEqual(
      channels.filter((channel) => !heard.has(channel)),
      [],
      'channels subscribed but never heard',
    )
  } finally {
    await bus.close()
    await pool.end()
  }
})
