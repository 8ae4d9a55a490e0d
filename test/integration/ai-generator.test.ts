import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, it } from 'node:test'
import { alertTextRequest } from '../../src/ai/alert-text.js'
import { Breakers } from '../../src/ai/breaker.js'
import { configuredTiers } from '../../src/ai/models.js'
import { estimateTokens, worstCaseCost } from '../../src/ai/prices.js'
import { type BriefingText, briefingTextShape } from '../../src/ai/structured-text.js'
import {
  createTextGenerator,
  RetryLater,
  type TextGenerator,
  type TextRequest,
  TransientModelFailure,
} from '../../src/ai/text-generator.js'
import { DEFAULT_PRICES } from '../../src/platform/model-prices.js'
import { startFakeAnthropic } from '../helpers/fake-anthropic.js'
import { startFakeGemini } from '../helpers/fake-gemini.js'
import { type Harness, inBothModes, startHarness } from '../helpers/harness.js'

const SECTIONS = {
  summary: 'A calm week ahead.',
  sections: [{ title: 'Spending', body: 'Food is at 62 % of its budget.' }],
}

inBothModes('AI text generator against fake providers', (mode) => {
  let anthropic: Awaited<ReturnType<typeof startFakeAnthropic>>
  let gemini: Awaited<ReturnType<typeof startFakeGemini>>
  let harness: Harness

  before(async () => {
    anthropic = await startFakeAnthropic()
    gemini = await startFakeGemini()
    harness = await startHarness(mode, {
      ANTHROPIC_API_KEY: 'test-anthropic-key',
      GEMINI_API_KEY: 'test-gemini-key',
      ANTHROPIC_BASE_URL: anthropic.url,
      GEMINI_BASE_URL: gemini.url,
    })
  })
  after(async () => {
    await harness?.close()
    await anthropic?.close()
    await gemini?.close()
  })

  const generator = (caps = { userUsd: 1, deploymentUsd: 1000 }): TextGenerator =>
    createTextGenerator({
      db: harness.deps.db,
      logger: harness.deps.logger,
      metrics: harness.deps.metrics,
      tiers: configuredTiers(harness.config),
      prices: DEFAULT_PRICES,
      caps,
      breakers: new Breakers(),
      timeoutMs: 10_000,
    })
  const newUser = async () => {
    const id = randomUUID()
    await harness.deps.db.insertInto('users').values({ id }).execute()
    return id
  }
  const ledger = (userId: string) =>
    harness.deps.db.selectFrom('ai_calls').selectAll().where('user_id', '=', userId).orderBy('created_at').execute()
  const briefing = (userId: string, retriesLeft = false): TextRequest<BriefingText> => ({
    purpose: 'briefing',
    userId,
    instructions: 'Write a briefing.',
    prompt: '{"budgets":[]}',
    shape: briefingTextShape,
    maxOutputTokens: 800,
    template: () => ({ summary: 'Template summary.', sections: [{ title: 'Template', body: 'Template body.' }] }),
    modelsAllowed: true,
    retriesLeft,
  })
  const alertText = (userId: string, retriesLeft = false) =>
    alertTextRequest(
      {
        userId,
        kind: 'fuel_low',
        priority: 'high',
        title: 'Fuel low: 8 %',
        body: 'About 50 km of range.',
        data: {
          vehicleId: randomUUID(),
          percent: 8,
          rangeKm: 50,
          stations: [{ name: 'Fuel One', lat: 38.57321, lon: -109.5512, distanceKm: 3.2 }],
        },
      },
      { modelsAllowed: true, retriesLeft },
    )

  it('writes a briefing with the analysis model, its instructions marked for the prompt cache, and settles the real cost', async () => {
    const userId = await newUser()
    anthropic.state.reply = () => SECTIONS
    anthropic.state.usage = { input: 120, output: 40, cacheWrite: 0, cacheRead: 900 }
    const result = await generator()(briefing(userId))
    assert.equal(result.source, 'claude-sonnet-4-6')
    assert.deepEqual(result.value, SECTIONS)
    const request = anthropic.state.requests.at(-1) as { system: { cache_control?: unknown }[]; max_tokens: number }
    assert.deepEqual(request.system[0]?.cache_control, { type: 'ephemeral' })
    assert.equal(request.max_tokens, 800)
    const [call] = await ledger(userId)
    // 120 × $3 + 40 × $15 + 900 × $0.30 per million tokens
    assert.equal(Number(call?.cost_usd), 0.00123)
    assert.equal(result.costUsd, 0.00123)
    assert.deepEqual(
      [call?.outcome, call?.input_tokens, call?.output_tokens, call?.cache_read_tokens, call?.cache_write_tokens],
      ['ok', 120, 40, 900, 0],
    )
    const day = await harness.deps.db
      .selectFrom('ai_budget_days')
      .select('spent_usd')
      .where('scope', '=', `user:${userId}`)
      .executeTakeFirstOrThrow()
    assert.equal(Number(day.spent_usd), 0.00123, 'the reservation was replaced by the real cost')
  })

  it('takes a reply that breaks the schema (markdown) as a failure of that tier and asks the next one', async () => {
    const userId = await newUser()
    anthropic.state.reply = () => ({ summary: '**Great** week', sections: SECTIONS.sections })
    gemini.state.reply = () => SECTIONS
    const result = await generator()(briefing(userId))
    assert.equal(result.source, 'gemini-2.5-flash')
    assert.deepEqual(result.skipped, [{ tier: 'analysis', reason: 'failed' }])
    const calls = await ledger(userId)
    assert.deepEqual(
      calls.map((call) => [call.provider, call.outcome]),
      [
        ['anthropic', 'invalid_reply'],
        ['google', 'ok'],
      ],
    )
    assert.ok(Number(calls[0]?.cost_usd) > 0, 'the rejected reply was billed and is counted')
    anthropic.state.reply = () => SECTIONS
  })

  it('alert text: the fast provider down is retried while the job has retries, then the template', async () => {
    const userId = await newUser()
    gemini.state.failure = { code: 503, status: 'UNAVAILABLE' }
    try {
      await assert.rejects(generator()(alertText(userId, true)), TransientModelFailure)
      const result = await generator()(alertText(userId, false))
      assert.equal(result.source, 'template')
      assert.deepEqual(result.value, { title: 'Fuel low: 8 %', body: 'About 50 km of range.' })
      assert.deepEqual(
        (await ledger(userId)).map((call) => [call.outcome, call.error_code, Number(call.cost_usd)]),
        [
          ['transient', 'http_503', 0],
          ['transient', 'http_503', 0],
        ],
      )
    } finally {
      gemini.state.failure = undefined
    }
  })

  it('sends only the alert, without ids and with positions rounded', async () => {
    const userId = await newUser()
    gemini.state.reply = () => ({ title: 'Fuel at 8 %: fill up within 50 km', body: 'Fuel One is 3 km away.' })
    const result = await generator()(alertText(userId))
    assert.equal(result.source, 'gemini-2.5-flash')
    const sent = JSON.stringify(gemini.state.requests.at(-1)?.body)
    assert.ok(!sent.includes('vehicleId') && !sent.includes(userId), 'no ids in the prompt')
    assert.ok(sent.includes('38.57') && !sent.includes('38.57321'), 'positions rounded')
  })

  it('a user over their cap gets the template with the reason, and no call is made', async () => {
    const userId = await newUser()
    const before = gemini.state.requests.length
    const result = await generator({ userUsd: 0.0001, deploymentUsd: 1000 })(alertText(userId))
    assert.equal(result.source, 'template')
    assert.deepEqual(result.skipped, [{ tier: 'fast', reason: 'user_budget' }])
    assert.equal(gemini.state.requests.length, before)
    assert.deepEqual(
      (await ledger(userId)).map((call) => [call.outcome, call.input_tokens, Number(call.cost_usd)]),
      [['refused_user_budget', 0, 0]],
    )
  })

  it('50 concurrent calls against a deployment cap that fits 10: at most 10 are made', async () => {
    const request = alertText(randomUUID())
    const price = DEFAULT_PRICES['gemini-2.5-flash'] as (typeof DEFAULT_PRICES)[string]
    const estimate = estimateTokens(request.instructions, request.prompt, JSON.stringify(request.shape.wire))
    const worst = worstCaseCost(estimate, request.maxOutputTokens, price)
    // Each call costs exactly its reservation, so settling frees nothing and the count is exact.
    gemini.state.usage = { prompt: estimate, candidates: request.maxOutputTokens, cached: 0 }
    gemini.state.delayMs = 100
    const spent = await harness.deps.db
      .selectFrom('ai_budget_days')
      .select('spent_usd')
      .where('scope', '=', 'deployment')
      .executeTakeFirst()
    const cap = Number(spent?.spent_usd ?? 0) + 10 * worst
    const users = await Promise.all(Array.from({ length: 50 }, newUser))
    const before = gemini.state.requests.length
    try {
      const shared = generator({ userUsd: 1, deploymentUsd: cap })
      const results = await Promise.all(users.map((userId) => shared(alertText(userId))))
      assert.equal(gemini.state.requests.length - before, 10)
      assert.equal(results.filter((result) => result.source === 'gemini-2.5-flash').length, 10)
      assert.equal(results.filter((result) => result.skipped[0]?.reason === 'deployment_budget').length, 40)
      const after = await harness.deps.db
        .selectFrom('ai_budget_days')
        .select('spent_usd')
        .where('scope', '=', 'deployment')
        .executeTakeFirstOrThrow()
      assert.ok(Number(after.spent_usd) <= cap + 1e-9, `spent ${after.spent_usd} within the cap ${cap}`)
    } finally {
      gemini.state.usage = { prompt: 200, candidates: 30, cached: 0 }
      gemini.state.delayMs = 0
    }
  })

  it('a 429 with retry-after asks for the job to wait that long, without stepping down', async () => {
    const userId = await newUser()
    gemini.state.failure = { code: 429, status: 'RESOURCE_EXHAUSTED', retryAfter: '7' }
    try {
      await assert.rejects(generator()(alertText(userId)), (error: unknown) => {
        assert.ok(error instanceof RetryLater)
        assert.equal(error.delayMs, 7000)
        return true
      })
      assert.deepEqual(
        (await ledger(userId)).map((call) => call.outcome),
        ['rate_limited'],
      )
    } finally {
      gemini.state.failure = undefined
    }
  })

  it("Anthropic's spend limit switches it off for the rest of the day: the next briefing does not call it", async () => {
    const userId = await newUser()
    anthropic.state.failure = {
      status: 429,
      type: 'rate_limit_error',
      message: 'enforced_spend_limit_reached: this request would exceed your spend limit',
    }
    gemini.state.reply = () => SECTIONS
    try {
      const first = await generator()(briefing(userId, true))
      assert.equal(first.source, 'gemini-2.5-flash', 'not retried: the next tier at once')
      assert.deepEqual(first.skipped, [{ tier: 'analysis', reason: 'provider_off' }])
      const calls = anthropic.state.requests.length
      const second = await generator()(briefing(userId, true))
      assert.equal(second.source, 'gemini-2.5-flash')
      assert.deepEqual(second.skipped, [{ tier: 'analysis', reason: 'provider_off' }])
      assert.equal(anthropic.state.requests.length, calls, 'no call to a provider that is off')
      const blocks = await harness.deps.db.selectFrom('ai_provider_blocks').selectAll().execute()
      assert.deepEqual(
        blocks.map((block) => [block.provider, block.reason]),
        [['anthropic', 'spend_limit']],
      )
    } finally {
      anthropic.state.failure = undefined
      await harness.deps.db.deleteFrom('ai_provider_blocks').execute()
    }
  })
})
