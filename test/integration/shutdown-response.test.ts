import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { type ApiHarness, listenLocally, startApiHarness } from '../helpers/api.js'
import { eventually } from '../helpers/harness.js'

// The answer does not depend on the deployment mode: one mode is enough. /ready has a body of its
// own in its 503 schema: the shutdown answer must not be held to it (it was: a 500 and an error log).
for (const url of ['/health', '/ready']) {
  describe(`a request for ${url} that arrives while the API shuts down`, () => {
    let api: ApiHarness
    let closing: Promise<void> | undefined

    before(async () => {
      api = await startApiHarness('postgres')
    })
    after(async () => {
      await (closing ?? api.app.close())
      await api.close().catch(() => undefined)
    })

    it("is answered 503 in the contract's error shape", async () => {
      const [host, port] = (await listenLocally(api.app)).split(':')
      // A request still being received when shutdown begins keeps its connection open past it.
      const socket = connect(Number(port), host)
      await once(socket, 'connect')
      socket.write(`GET ${url} HTTP/1.1\r\nHost: pam\r\n`)
      let received = ''
      socket.on('data', (chunk) => {
        received += chunk
      })
      closing = api.app.close()
      socket.write('\r\n')
      const response = await eventually(
        async () => (received.includes('\r\n\r\n{') && received.endsWith('}') ? received : undefined),
        10_000,
        'the answer',
      )
      socket.destroy()
      assert.match(response, /^HTTP\/1\.1 503 /, response)
      const body = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4))
      assert.equal(body.error, 'unavailable')
      assert.equal(typeof body.message, 'string')
    })
  })
}
