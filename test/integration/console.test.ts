import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { DEMO_USER } from '../../src/app/commands/next-steps.js'
import { type ApiHarness, startApiHarness } from '../helpers/api.js'
import { inBothModes, TEST_INTERNAL_TOKEN } from '../helpers/harness.js'

/** The console's pages and the data only it reads, over the app (the browser tests drive the pages themselves). */
inBothModes('the web console, served by the API', (mode) => {
  let api: ApiHarness

  before(async () => {
    api = await startApiHarness(mode)
  })
  after(() => api.close())

  it('serves both views from the built files under a CSP without unsafe-inline', async () => {
    for (const url of ['/console', '/console/operator']) {
      const page = await api.app.inject(url)
      assert.equal(page.statusCode, 200, url)
      assert.match(String(page.headers['content-type']), /text\/html/)
      const csp = String(page.headers['content-security-policy'])
      assert.match(csp, /script-src 'self'/)
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/)
      assert.match(page.body, /\/console\/assets\/app\.js/)
    }
    const script = await api.app.inject('/console/assets/app.js')
    assert.equal(script.statusCode, 200)
    assert.match(String(script.headers['content-type']), /javascript/)
    assert.equal((await api.app.inject('/console/assets/../index.html')).statusCode === 200, false)
  })

  it('mints a demo token only for a request from the console itself (development)', async () => {
    const host = 'localhost:8000'
    const foreign = await api.app.inject({
      method: 'POST',
      url: '/console/demo-token',
      headers: { host, origin: 'https://evil.example' },
    })
    assert.equal(foreign.statusCode, 403)
    const own = await api.app.inject({
      method: 'POST',
      url: '/console/demo-token',
      headers: { host, origin: `http://${host}` },
    })
    assert.equal(own.statusCode, 200)
    const me = await api.app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${own.json().token}` } })
    assert.equal(me.json().id, DEMO_USER)
  })

  it("reads the operator overview only with the dashboard's token or session", async () => {
    assert.equal((await api.app.inject('/admin/console/overview')).statusCode, 401)
    const signIn = await api.app.inject({
      method: 'POST',
      url: '/admin/login',
      payload: { token: TEST_INTERNAL_TOKEN },
    })
    assert.equal(signIn.statusCode, 303)
    const cookie = String(signIn.headers['set-cookie']).split(';')[0] as string
    const overview = await api.app.inject({ url: '/admin/console/overview', headers: { cookie } })
    assert.equal(overview.statusCode, 200)
    const body = overview.json()
    for (const field of ['schedules', 'monitorRuns', 'queues', 'workers', 'failedJobs', 'operatorAlerts'])
      assert.ok(Array.isArray(body[field]), field)
    assert.deepEqual(body.queues.map((q: { queue: string }) => q.queue).sort(), [
      'analytics',
      'maintenance',
      'notifications',
    ])
    assert.equal(typeof body.aiToday.capUsd, 'number')
  })
})
