import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { describe, it } from 'node:test'
import { freePort } from '../helpers/process.js'

// The OS hands the local ports of outgoing connections out of this range: a port a test gives a
// `pam` to listen on must not be one of them, or any connection meanwhile may take it.
const ephemeral = (() => {
  try {
    return readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number)
  } catch {
    return [49_152, 65_535]
  }
})()

describe("the tests' free ports", () => {
  it('are below the range outgoing connections take their ports from, and free to listen on', async () => {
    for (let n = 0; n < 20; n++) {
      const port = await freePort()
      assert.ok(port < (ephemeral[0] ?? 0), `port ${port} is in the ephemeral range ${ephemeral.join('–')}`)
      const server = createServer()
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, '127.0.0.1', resolve)
      })
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
