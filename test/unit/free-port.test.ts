import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { describe, it } from 'node:test'
import { ephemeralStart, freePort } from '../helpers/process.js'

// The OS hands the local ports of outgoing connections out of the range from here: a port a test
// gives a `pam` to listen on must not be one of them, or any connection meanwhile may take it.
const ephemeral = ephemeralStart()

describe("the tests' free ports", () => {
  it('are below the range outgoing connections take their ports from, and free to listen on', async () => {
    for (let n = 0; n < 20; n++) {
      const port = await freePort()
      assert.ok(port < ephemeral, `port ${port} is in the ephemeral range, from ${ephemeral}`)
      const server = createServer()
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, '127.0.0.1', resolve)
      })
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
