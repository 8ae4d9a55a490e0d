import assert from 'node:assert/strict'
import { lookup } from 'node:dns'
import { after, before, it } from 'node:test'
import { type ApiHarness, client, startApiHarness, userToken } from '../helpers/api.js'
import { inBothModes } from '../helpers/harness.js'

const KEYS = {
  p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XLjhUdp8YsMUM3Il8DV9k4',
  auth: 'tBHItJI5svbpez7KI4CCXg',
}

/** Endpoints that would make PAM's workers POST, with its VAPID signature, somewhere inside a network. */
const INSIDE = [
  'https://127.0.0.1/push',
  'https://127.0.0.1:6379/push',
  'https://2130706433/push', // 127.0.0.1, spelled as a number
  'https://0x7f.1/push',
  'https://017700000001/push',
  'https://[::1]/push',
  'https://[::ffff:7f00:1]/push', // IPv4-mapped
  'https://[fd00:ec2::254]/latest', // unique local: a cloud's metadata service
  'https://169.254.169.254/latest/meta-data/',
  'https://10.0.0.5/push',
  'https://100.100.100.200/latest', // carrier-grade NAT range
  'https://192.168.1.1/push',
  'https://224.0.0.1/push',
  'https://localhost/push',
  'https://push.localhost/push',
  'https://metadata.google.internal/computeMetadata/v1/',
  'https://printer.local/push',
  'https://intranet/push',
  'https://push.example.org:8443/push',
  'https://user:secret@push.example.org/push',
  'http://push.example.org/push',
  'https://push-service-that-does-not-exist.invalid/push',
]

/**
 * A name only DNS can say is not a host. On a machine without a resolver (no network) the check
 * cannot tell, and leaves it to the send, which checks again where it connects: then it is kept.
 */
const UNRESOLVED = 'https://no-such-host-for-pam-tests.example/push'
const resolverAnswers = () =>
  new Promise<boolean>((resolve) =>
    lookup(new URL(UNRESOLVED).hostname, (error) => resolve(error?.code !== 'EAI_AGAIN' && error?.code !== 'ETIMEOUT')),
  )

inBothModes('push endpoints reach only public push services', (mode) => {
  let api: ApiHarness

  before(async () => {
    api = await startApiHarness(mode)
  })
  after(async () => {
    await api?.close()
  })

  it('refuses an endpoint inside a network, by address, name, port or credentials, with a 400 naming endpoint', async () => {
    const call = client(api.app, await userToken())
    for (const endpoint of INSIDE) {
      const refused = await call('POST', '/v1/push-subscriptions', { endpoint, keys: KEYS })
      assert.equal(refused.status, 400, `${endpoint}: ${JSON.stringify(refused.body)}`)
      assert.deepEqual(
        refused.body.details.map((d: { field: string }) => d.field),
        ['endpoint'],
        endpoint,
      )
    }
    const stored = await api.harness.deps.db.selectFrom('push_subscriptions').select('endpoint').execute()
    assert.deepEqual(stored, [])
  })

  it('refuses a name that does not resolve, and keeps it when no resolver answers', async () => {
    const call = client(api.app, await userToken())
    const answered = await call('POST', '/v1/push-subscriptions', { endpoint: UNRESOLVED, keys: KEYS })
    if (await resolverAnswers()) {
      assert.equal(answered.status, 400, JSON.stringify(answered.body))
      assert.match(answered.body.details[0].problem, /does not resolve/)
    } else {
      assert.equal(answered.status, 201, JSON.stringify(answered.body))
    }
  })
})
