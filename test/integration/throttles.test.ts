import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, it } from 'node:test'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { Redis } from 'ioredis'
import { buildApiApp } from '../../src/app/roles/api.js'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import { type Harness, inBothModes, startHarness, TEST_INTERNAL_TOKEN } from '../helpers/harness.js'
import { testRedisUrl } from '../helpers/services.js'

const LIMIT = 20
const HOST = 'pam.test:8443'
const FORM = { 'content-type': 'application/x-www-form-urlencoded', host: HOST }

// Two API replicas on one deployment's stores: a throttle must hold across both, in either mode.
inBothModes('throttles that hold across replicas, and a sign-out that writes nothing it should not', (mode) => {
  let harness: Harness
  let producer: Producer
  let replicas: FastifyInstance[]

  before(async () => {
    harness = await startHarness(mode, { RATE_LIMIT_PER_MINUTE: String(LIMIT) })
    producer = createProducer(harness.deps.backend, harness.deps.logger)
    replicas = [await buildApiApp(harness.deps, producer), await buildApiApp(harness.deps, producer)]
  })
  after(async () => {
    for (const app of replicas ?? []) await app.close()
    await producer?.close()
    await harness?.close()
  })

  /** Sends the i-th request to one replica then the other, from one client address. */
  const alternate = (i: number, request: InjectOptions) => (replicas[i % 2] as FastifyInstance).inject(request)

  /** Signs in to the dashboard on the first replica: the session cookie. */
  async function signIn(address: string): Promise<string> {
    const response = await alternate(0, {
      method: 'POST',
      url: '/admin/login',
      remoteAddress: address,
      payload: `token=${encodeURIComponent(TEST_INTERNAL_TOKEN)}`,
      headers: FORM,
    })
    return String(response.headers['set-cookie']).split(';')[0] as string
  }

  /** The hits the deployment's store holds for a throttle key. */
  async function storedHits(key: string): Promise<number> {
    if (mode === 'postgres') {
      const row = await harness.deps.db
        .selectFrom('rate_limit_hits')
        .select('hits')
        .where('key', '=', key)
        .executeTakeFirst()
      return row?.hits ?? 0
    }
    const redis = new Redis(testRedisUrl())
    try {
      return Number(await redis.get(`${harness.config.REDIS_PREFIX}:hits:${key}`))
    } finally {
      redis.disconnect()
    }
  }

  /** What the deployment's cache holds for dashboard sessions. */
  async function sessionEntries(): Promise<number> {
    if (mode === 'postgres') {
      const rows = await harness.deps.db
        .selectFrom('cache_entries')
        .select('key')
        .where('key', 'like', 'admin-session:%')
        .execute()
      return rows.length
    }
    const redis = new Redis(testRedisUrl())
    try {
      const [, keys] = await redis.scan(
        '0',
        'MATCH',
        `${harness.config.REDIS_PREFIX}:cache:admin-session:*`,
        'COUNT',
        10_000,
      )
      return keys.length
    } finally {
      redis.disconnect()
    }
  }

  it('counts requests without a valid token per address across replicas', async () => {
    const statuses: number[] = []
    for (let i = 0; i < LIMIT + 2; i++) {
      statuses.push((await alternate(i, { url: '/v1/me', remoteAddress: '198.51.100.20' })).statusCode)
    }
    assert.deepEqual(statuses, [...Array(LIMIT).fill(401), 429, 429])
    // A refused flood goes on without touching the store: each replica remembers the address until its window ends.
    for (let i = 0; i < 20; i++) {
      assert.equal((await alternate(i, { url: '/v1/me', remoteAddress: '198.51.100.20' })).statusCode, 429)
    }
    assert.equal(await storedHits('v1-token:198.51.100.20'), LIMIT + 2)
  })

  it('throttles dashboard sign-ins per address across replicas', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 12; i++) {
      const response = await alternate(i, {
        method: 'POST',
        url: '/admin/login',
        remoteAddress: '198.51.100.21',
        payload: 'token=guess',
        headers: FORM,
      })
      statuses.push(response.statusCode)
    }
    assert.deepEqual(statuses, [...Array(10).fill(401), 429, 429])
  })

  it('signs out only a session that exists: any other cookie writes nothing, never a 500, and sign-out is throttled', async () => {
    const before = await sessionEntries()
    for (const [i, size] of [8_192, 3_000, 43, 44].entries()) {
      const cookie = `pam_admin_session=${randomBytes(size).toString('base64url').slice(0, size)}`
      const response = await alternate(i, {
        method: 'POST',
        url: '/admin/logout',
        remoteAddress: `198.51.100.${30 + i}`,
        headers: { cookie, host: HOST },
      })
      assert.equal(response.statusCode, 303, `${size}: ${response.body}`)
    }
    assert.equal(await sessionEntries(), before, 'no cookie value was stored')

    // A real session is revoked, on the other replica too.
    const cookie = await signIn('198.51.100.40')
    const queues = () =>
      alternate(1, { url: '/admin/queues/api/queues', headers: { cookie, accept: 'application/json' } })
    assert.equal((await queues()).statusCode, 200)
    const out = await alternate(1, {
      method: 'POST',
      url: '/admin/logout',
      remoteAddress: '198.51.100.40',
      headers: { cookie, host: HOST },
    })
    assert.equal(out.statusCode, 303)
    assert.equal((await queues()).statusCode, 401)

    const statuses: number[] = []
    for (let i = 0; i < 11; i++) {
      const cookie = `pam_admin_session=${randomBytes(32).toString('base64url')}`
      statuses.push(
        (
          await alternate(i, {
            method: 'POST',
            url: '/admin/logout',
            remoteAddress: '198.51.100.41',
            headers: { cookie },
          })
        ).statusCode,
      )
    }
    assert.deepEqual(statuses, [...Array(10).fill(303), 429])
  })

  it('refuses a cross-origin change to the dashboard with a 403 in the error shape', async () => {
    const cookie = await signIn('198.51.100.50')
    const refused = await alternate(0, {
      method: 'PUT',
      url: '/admin/queues/api/queues/analytics/pause',
      headers: { cookie, host: HOST, origin: 'https://evil.example' },
    })
    assert.equal(refused.statusCode, 403)
    assert.equal(refused.json().error, 'forbidden')
    assert.match(refused.json().message, /must come from its own page/)
  })

  it('asks internal endpoints for the token before reading their query, and throttles wrong tokens across replicas', async () => {
    const noToken = await alternate(0, { url: '/internal/ai-usage?day=not-a-day', remoteAddress: '198.51.100.60' })
    assert.equal(noToken.statusCode, 401, noToken.body)
    const internal = (i: number) =>
      alternate(i, {
        url: ['/internal/ai-usage?day=bad', '/internal/deliveries?status=nope', '/metrics', '/internal/schedules'][
          i % 4
        ],
        remoteAddress: '198.51.100.61',
        headers: { authorization: `Bearer wrong-${i}` },
      })
    const statuses: number[] = []
    for (let i = 0; i < 12; i++) statuses.push((await internal(i)).statusCode)
    assert.deepEqual(statuses, [...Array(10).fill(401), 429, 429])
    const dashboard = await alternate(0, {
      url: '/admin/queues/api/queues',
      remoteAddress: '198.51.100.61',
      headers: { authorization: 'Bearer wrong', accept: 'application/json' },
    })
    assert.equal(dashboard.statusCode, 429, 'the dashboard counts wrong tokens with the other internal doors')
    const right = await alternate(1, {
      url: '/internal/ai-usage?day=2026-12-01',
      remoteAddress: '198.51.100.62',
      headers: { authorization: `Bearer ${TEST_INTERNAL_TOKEN}` },
    })
    assert.equal(right.statusCode, 200)
  })
})
