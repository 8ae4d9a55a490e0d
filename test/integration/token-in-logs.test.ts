import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { userToken } from '../helpers/api.js'
import { eventually, type Harness, startHarness, testEnv } from '../helpers/harness.js'
import { freePort, get, type PamProcess, spawnPam } from '../helpers/process.js'
import { openStream } from '../helpers/stream.js'

// What is logged does not depend on the mode.
describe('no token reaches the log, in any spelling of the query or the path', () => {
  let harness: Harness
  let api: PamProcess
  let base: string

  before(async () => {
    harness = await startHarness('postgres')
    const port = await freePort()
    base = `127.0.0.1:${port}`
    api = spawnPam(
      ['api'],
      testEnv('postgres', harness.databaseUrl, {
        PORT: String(port),
        HOST: '127.0.0.1',
        MIGRATE_ON_START: 'false',
        LOG_LEVEL: 'info',
      }),
    )
    await eventually(
      async () => ((await get(`http://${base}/health`)).status === 200 ? true : undefined),
      30_000,
      'the API',
    )
  })
  after(async () => {
    await api.stop()
    await harness.close()
  })

  it('redacts the token of every variant from the request lines, on the stream and off it, in the query or the path', async () => {
    const token = await userToken(randomUUID())
    const percentEncoded = [...token].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('')
    const variants = [
      `access_token=${token}`,
      `access%5Ftoken=${token}`,
      `access%5ftoken=${token}`,
      `x=1;access_token=${token}`,
      `x=1&access_token=${token}&access_token=${token}`,
      `ACCESS_TOKEN=${token}`,
      `access%255Ftoken=${token}`,
      `since=2026-01-01T00:00:00Z&access_token=${token}`,
      `access_token=${percentEncoded}`,
      `x=${token}`,
    ]
    for (const query of variants) {
      await get(`http://${base}/v1/stream?${query}`)
      await get(`http://${base}/v1/vehicles?${query}`)
    }
    // In the path: path parameters (`;`), a token as a segment, encoded or not.
    const paths = [
      `/v1/stream;access_token=${token}`,
      `/v1/stream;x=1;ACCESS_TOKEN=${token}?since=2026-01-01T00:00:00Z`,
      `/v1/stream/${token}`,
      `/v1/vehicles;access%5Ftoken=${token}`,
      `/v1/${percentEncoded}/stream`,
    ]
    for (const path of paths) await get(`http://${base}${path}`)
    // The spellings the server decodes authenticate a real upgrade; their lines are checked too.
    for (const query of [`access_token=${token}`, `access%5Ftoken=${token}`]) {
      const stream = await openStream(`ws://${base}/v1/stream?${query}`)
      await stream.next((m) => m.type === 'hello')
      stream.close()
    }
    await eventually(
      async () =>
        (api.output().match(/"url":"\/v1\/stream\?/g)?.length ?? 0) >= 12 &&
        (api.output().match(/"url":"\/v1\/(stream\/)?\[redacted\]"/g)?.length ?? 0) >= paths.length
          ? true
          : undefined,
      10_000,
      'the request lines',
    )
    await api.stop()
    const log = api.output()
    const signature = token.split('.')[2] as string
    assert.ok(!log.includes(signature), 'the token signature is in the log')
    assert.ok(!log.includes(token.split('.')[1] as string), 'the token claims are in the log')
    assert.ok(!log.includes(percentEncoded.slice(0, 60)), 'the percent-encoded token is in the log')
  })
})
