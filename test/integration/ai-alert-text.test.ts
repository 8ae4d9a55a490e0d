import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import { alertTextJobId } from '../../src/jobs/ai-job-ids.js'
import { type AlertStack, startAlertStack } from '../helpers/alert-stack.js'
import type { Client } from '../helpers/api.js'
import { startFakeAnthropic } from '../helpers/fake-anthropic.js'
import { startFakeGemini } from '../helpers/fake-gemini.js'
import { eventually, inBothModes, TEST_INTERNAL_TOKEN, testEnv } from '../helpers/harness.js'
import { spawnPam } from '../helpers/process.js'
import type { StreamClient } from '../helpers/stream.js'

// biome-ignore lint/suspicious/noExplicitAny: alerts arrive as JSON and are read field by field
type Message = Record<string, any>

const AI_TEXT = { title: 'Food budget at 85 %: 75 USD left', body: 'About 7 USD a day keeps you within it.' }

inBothModes('AI text of alerts and briefings, end to end', (mode) => {
  let anthropic: Awaited<ReturnType<typeof startFakeAnthropic>>
  let gemini: Awaited<ReturnType<typeof startFakeGemini>>
  let stack: AlertStack

  before(async () => {
    anthropic = await startFakeAnthropic()
    gemini = await startFakeGemini()
    stack = await startAlertStack(mode, {
      ANTHROPIC_API_KEY: 'test-anthropic-key',
      GEMINI_API_KEY: 'test-gemini-key',
      ANTHROPIC_BASE_URL: anthropic.url,
      GEMINI_BASE_URL: gemini.url,
      BRIEFING_REQUESTS_PER_HOUR: '2',
    })
  })
  after(async () => {
    await stack?.close()
    await anthropic?.close()
    await gemini?.close()
  })

  /** Spends 85 % of a food budget: a high budget alert. */
  const overspend = async (call: Client) => {
    await call('POST', '/v1/budgets', { category: 'food', amount: 500, currency: 'USD', period: 'month' })
    await call('POST', '/v1/expenses', {
      amount: 425,
      currency: 'USD',
      category: 'food',
      spentAt: new Date().toISOString(),
    })
  }
  const created = async (stream: StreamClient) =>
    (await stream.next((m) => m.type === 'alert.created', 15_000)).alert as Message
  const ledger = (userId: string) =>
    stack.harness.deps.db.selectFrom('ai_calls').selectAll().where('user_id', '=', userId).execute()
  const textJob = async (alertId: string) => stack.producer.queues.get('notifications')?.getJob(alertTextJobId(alertId))
  /**
   * The alert's text job once it is in `state`, read again after the state was seen: a job read
   * while active and found completed a moment later still carries the active job's fields
   * (no return value, no delay).
   */
  const textJobIn = (alertId: string, state: 'completed' | 'delayed', limitMs: number, what: string) =>
    eventually(
      async () => {
        const found = await textJob(alertId)
        return found && (await found.getState()) === state ? textJob(alertId) : undefined
      },
      limitMs,
      what,
    )

  it('a high alert is pushed with its template text first, then its AI text as alert.updated', async () => {
    const { id, call, stream } = await stack.traveller()
    gemini.state.reply = () => AI_TEXT
    // The model is slow: the alert must not wait for it.
    gemini.state.delayMs = 1500
    try {
      await overspend(call)
      const alert = await created(stream)
      assert.equal(alert.textSource, 'template')
      assert.match(alert.title, /food/i)
      assert.ok(!stream.messages.some((m) => m.type === 'alert.updated'), 'the template comes first')
      const updated = (await stream.next((m) => m.type === 'alert.updated', 15_000)).alert as Message
      assert.equal(updated.id, alert.id)
      assert.equal(updated.textSource, 'gemini-2.5-flash')
      assert.deepEqual([updated.title, updated.body], [AI_TEXT.title, AI_TEXT.body])
      assert.deepEqual(updated.data, alert.data, 'the facts are unchanged')
      const listed = (await call('GET', '/v1/alerts')).body.items[0]
      assert.deepEqual([listed.title, listed.textSource], [AI_TEXT.title, 'gemini-2.5-flash'])

      const usage = (await call('GET', '/v1/me/ai-usage')).body
      assert.equal(usage.today.calls, 1)
      assert.ok(usage.today.costUsd > 0)
      assert.equal(usage.caps.dailyUsd, 0.05)
      const internal = await stack.app.inject({
        method: 'GET',
        url: '/internal/ai-usage',
        headers: { authorization: `Bearer ${TEST_INTERNAL_TOKEN}` },
      })
      const models = JSON.parse(internal.body).models as Message[]
      assert.ok(models.some((m) => m.provider === 'google' && m.calls >= 1))
      assert.equal((await stack.app.inject({ method: 'GET', url: '/internal/ai-usage' })).statusCode, 401)
      const metrics = await stack.app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: `Bearer ${TEST_INTERNAL_TOKEN}` },
      })
      assert.match(metrics.body, /pam_ai_calls_total\{provider="google",model="gemini-2.5-flash",outcome="ok"\} [1-9]/)
      assert.match(metrics.body, /pam_ai_cost_usd_total\{provider="google",model="gemini-2.5-flash"\} 0\.\d*[1-9]/)
      assert.match(metrics.body, /pam_ai_budget_spent_ratio 0\.\d*[1-9]/)
      assert.equal((await ledger(id)).length, 1)
    } finally {
      gemini.state.delayMs = 0
      stream.close()
    }
  })

  it('the fast provider down: the alert keeps its template text and nothing else changes', async () => {
    const { id, call, stream } = await stack.traveller()
    gemini.state.failure = { code: 503, status: 'UNAVAILABLE' }
    try {
      await overspend(call)
      const alert = await created(stream)
      assert.equal(alert.textSource, 'template')
      const job = await textJobIn(alert.id, 'completed', 60_000, 'the alert-text job to give up on the model')
      assert.equal(job.returnvalue, 'kept')
      assert.ok((await ledger(id)).every((row) => row.outcome === 'transient'))
      assert.ok(!stream.messages.some((m) => m.type === 'alert.updated'))
      assert.equal((await call('GET', '/v1/alerts')).body.items[0].textSource, 'template')
    } finally {
      gemini.state.failure = undefined
      stream.close()
    }
  })

  it('a reply that is not plain text (HTML, line breaks, a link) is refused: the template stands', async () => {
    const { call, stream } = await stack.traveller()
    const replies = [
      { title: 'Budget <b>85 %</b>', body: 'Slow down.' },
      { title: 'Budget at 85 %', body: 'Slow down.\r\nBcc: victim@example.org' },
      { title: 'Budget at 85 %', body: 'Details at https://evil.example/budget now.' },
    ]
    const original = gemini.state.reply
    let calls = 0
    gemini.state.reply = () => replies[calls++ % replies.length]
    try {
      await overspend(call)
      const alert = await created(stream)
      const job = await textJobIn(alert.id, 'completed', 60_000, 'the alert-text job to refuse the replies')
      assert.equal(job.returnvalue, 'kept')
      const listed = (await call('GET', '/v1/alerts')).body.items[0]
      assert.deepEqual([listed.title, listed.textSource], [alert.title, 'template'])
      assert.ok(!stream.messages.some((m) => m.type === 'alert.updated'))
    } finally {
      gemini.state.reply = original
      stream.close()
    }
  })

  it("reads a model's answer with a size cap: a huge one is a failed call, and the template stands", async () => {
    const { id, call, stream } = await stack.traveller()
    gemini.state.padding = 2 * 1024 * 1024
    try {
      await overspend(call)
      const alert = await created(stream)
      const job = await textJobIn(alert.id, 'completed', 60_000, 'the alert-text job to give up on the model')
      assert.equal(job.returnvalue, 'kept')
      assert.equal((await call('GET', '/v1/alerts')).body.items[0].textSource, 'template')
      const calls = await ledger(id)
      assert.ok(calls.length > 0 && calls.every((row) => row.outcome !== 'ok'), JSON.stringify(calls))
    } finally {
      gemini.state.padding = 0
      stream.close()
    }
  })

  it('a traveller with AI turned off gets templates only, and no call is made', async () => {
    const { id, call, stream } = await stack.traveller()
    const settings = (await call('GET', '/v1/me/notification-settings')).body
    assert.equal(
      (await call('PUT', '/v1/me/notification-settings', { ...settings, ai: { enabled: false } })).status,
      200,
    )
    const calls = gemini.state.requests.length
    try {
      await overspend(call)
      const alert = await created(stream)
      const job = await textJobIn(alert.id, 'completed', 30_000, 'the alert-text job')
      assert.equal(job.returnvalue, 'ai_disabled')
      assert.equal(gemini.state.requests.length, calls)
      assert.deepEqual(await ledger(id), [])
    } finally {
      stream.close()
    }
  })

  it('a 429 with retry-after delays the alert-text job by that much', async () => {
    const { call, stream } = await stack.traveller()
    gemini.state.failure = { code: 429, status: 'RESOURCE_EXHAUSTED', retryAfter: '30' }
    try {
      await overspend(call)
      const alert = await created(stream)
      const job = await textJobIn(alert.id, 'delayed', 30_000, 'the alert-text job to be delayed')
      const due = job.timestamp + job.delay
      assert.ok(due - Date.now() > 20_000 && due - Date.now() <= 31_000, `due in ${due - Date.now()} ms`)
      assert.equal(job.attemptsMade, 0, 'a wait the provider asked for spends no retry')
      await job.remove()
    } finally {
      gemini.state.failure = undefined
      stream.close()
    }
  })

  it('a provider that answers "later" every time does not keep the job alive for ever', async () => {
    const { call, stream } = await stack.traveller()
    gemini.state.failure = { code: 429, status: 'RESOURCE_EXHAUSTED', retryAfter: '0' }
    const before = gemini.state.requests.length
    try {
      await overspend(call)
      const alert = await created(stream)
      // Ten delays that spend no attempt, then each "later" is a failure: retried with backoff, then failed.
      const job = await eventually(
        async () => {
          const found = await textJob(alert.id)
          return found && found.attemptsMade >= 1 ? found : undefined
        },
        60_000,
        'the repeatedly delayed alert-text job to spend an attempt',
      )
      assert.ok(job.attemptsStarted >= 11, `started ${job.attemptsStarted} times`)
      const asked = gemini.state.requests.slice(before)
      assert.ok(asked.length <= 11 + job.attemptsMade, `${asked.length} model calls`)
      // Gemini 2.5 thinks by default, and thinking tokens count against the short reply's budget.
      const config = asked[0]?.body.generationConfig as { thinkingConfig?: { thinkingBudget?: number } } | undefined
      assert.equal(config?.thinkingConfig?.thinkingBudget, 0)
      await job.remove().catch(() => {})
    } finally {
      gemini.state.failure = undefined
      stream.close()
    }
  })

  it('pam demo shows the AI text of the alerts the fast model rewrites', async () => {
    gemini.state.reply = () => AI_TEXT
    const env = testEnv(mode, stack.harness.databaseUrl, {
      REDIS_PREFIX: stack.harness.config.REDIS_PREFIX,
      MIGRATE_ON_START: 'false',
      GEMINI_API_KEY: 'test-gemini-key',
      GEMINI_BASE_URL: gemini.url,
      // No forecast: the demo skips the weather window at once.
      WEATHER_API_URL: 'http://127.0.0.1:9/forecast',
    })
    const demo = spawnPam(['demo', '--timeout', '45'], env)
    assert.equal(await demo.exited, 0, demo.output())
    // The demo's urgent budget, overdue maintenance and suggestion: each rewritten, none left out.
    assert.match(demo.output(), /AI text: (\d+) of \1 alerts rewritten by gemini-2\.5-flash/)
    assert.match(demo.output(), new RegExp(AI_TEXT.title))
  })

  it('a briefing asked for now is written by the analysis model, in sections; the hourly limit holds', async () => {
    const { call, stream } = await stack.traveller()
    stream.close()
    await overspend(call)
    const sections = [
      { title: 'Food budget ahead of pace', body: 'You have spent 85 % of the food budget.' },
      { title: 'Next steps', body: 'Keep to about 7 USD a day.' },
    ]
    anthropic.state.reply = () => ({ summary: 'Food spending needs a slower pace.', sections })
    const asked = await call('POST', '/v1/briefings')
    assert.equal(asked.status, 202)
    const briefing = await eventually(
      async () => {
        const items = (await call('GET', '/v1/briefings')).body.items as Message[]
        return items.find((b) => b.id === asked.body.id && b.status === 'ready')
      },
      30_000,
      'the briefing',
    )
    assert.equal(briefing.textSource, 'claude-sonnet-4-6')
    assert.deepEqual(briefing.sections, sections)
    assert.equal(briefing.summary, 'Food spending needs a slower pace.')
    assert.ok(briefing.costUsd > 0)
    assert.equal(briefing.templateReason, null)
    const digest = JSON.stringify(anthropic.state.requests.at(-1))
    assert.match(digest, /percentAtPace/)
    assert.equal((await call('POST', '/v1/briefings')).status, 202)
    const limited = await call('POST', '/v1/briefings')
    assert.equal(limited.status, 429)
    assert.match(limited.body.message, /^2 briefings an hour asked for already; retry in /)
    assert.ok(limited.headers['retry-after'])
  })
})
