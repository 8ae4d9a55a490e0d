import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { APICallError } from 'ai'
import { alertFacts, wantsModelText } from '../../src/ai/alert-text.js'
import { Breakers } from '../../src/ai/breaker.js'
import { budgetRefusal, nextUtcDay } from '../../src/ai/budget.js'
import { classifyFailure, retryAfterMs } from '../../src/ai/failures.js'
import { costOf, worstCaseCost } from '../../src/ai/prices.js'
import { alertTextShape, briefingTextShape } from '../../src/ai/structured-text.js'
import { ladder, type ModelTier } from '../../src/ai/tiers.js'
import { messageOf } from '../../src/platform/errors/error-message.js'
import { DEFAULT_PRICES } from '../../src/platform/model-prices.js'

const SONNET = DEFAULT_PRICES['claude-sonnet-4-6'] as (typeof DEFAULT_PRICES)[string]
const apiError = (statusCode: number, body: string, headers: Record<string, string> = {}) =>
  new APICallError({
    message: 'failed',
    url: 'http://fake',
    requestBodyValues: {},
    statusCode,
    responseHeaders: headers,
    responseBody: body,
  })

describe('AI prices', () => {
  it('bills plain input, output, cache writes and cache reads at their own rates', () => {
    assert.equal(costOf({ input: 1_000_000, output: 0, cacheWrite: 0, cacheRead: 0 }, SONNET), 3)
    assert.equal(costOf({ input: 0, output: 1000, cacheWrite: 1000, cacheRead: 1000 }, SONNET), 0.01905)
  })
  it('reserves more than any usage within the limits can cost', () => {
    const worst = worstCaseCost(1000, 500, SONNET)
    for (const usage of [
      { input: 1000, output: 500, cacheWrite: 0, cacheRead: 0 },
      { input: 0, output: 500, cacheWrite: 1000, cacheRead: 0 },
      { input: 0, output: 500, cacheWrite: 0, cacheRead: 1000 },
    ]) {
      assert.ok(costOf(usage, SONNET) <= worst)
    }
  })
})

describe('AI budgets', () => {
  it('refuses by the user cap first, then the deployment cap; a call that fits exactly passes', () => {
    const caps = { userUsd: 0.05, deploymentUsd: 5 }
    assert.equal(budgetRefusal({ user: 0.04, deployment: 0 }, 0.01, caps), undefined)
    assert.equal(budgetRefusal({ user: 0.041, deployment: 5 }, 0.01, caps), 'user_budget')
    assert.equal(budgetRefusal({ user: 0, deployment: 4.995 }, 0.01, caps), 'deployment_budget')
  })
  it('a provider switched off comes back at the next UTC midnight', () => {
    assert.equal(nextUtcDay(new Date('2026-11-23T23:59:59Z')).toISOString(), '2026-11-24T00:00:00.000Z')
  })
})

describe('AI failures', () => {
  const now = Date.parse('2026-11-23T12:00:00Z')
  it('reads retry-after as seconds, as a date, and retry-after-ms', () => {
    assert.equal(retryAfterMs({ 'retry-after': '7' }, now), 7000)
    assert.equal(retryAfterMs({ 'Retry-After': 'Mon, 23 Nov 2026 12:00:30 GMT' }, now), 30_000)
    assert.equal(retryAfterMs({ 'retry-after-ms': '1500' }, now), 1500)
    assert.equal(retryAfterMs({}, now), undefined)
  })
  it('classifies what each provider answer means for the job', () => {
    const cases: [unknown, string, string][] = [
      [
        apiError(429, '{"type":"error","error":{"type":"rate_limit_error"}}', { 'retry-after': '3' }),
        'rate-limited',
        'http_429',
      ],
      [
        apiError(429, '{"type":"error","error":{"type":"rate_limit_error","message":"enforced_spend_limit_reached"}}'),
        'provider-off',
        'spend_limit',
      ],
      [
        apiError(
          400,
          '{"type":"error","error":{"type":"invalid_request_error","message":"You have reached your specified API usage limits."}}',
        ),
        'provider-off',
        'spend_limit',
      ],
      [apiError(401, '{}'), 'provider-off', 'http_401'],
      [apiError(529, '{"type":"error","error":{"type":"overloaded_error"}}'), 'transient', 'http_529'],
      [apiError(503, '{"error":{"code":503,"status":"UNAVAILABLE"}}'), 'transient', 'http_503'],
      [apiError(429, '{"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}'), 'transient', 'http_429'],
      [apiError(400, '{"error":{"code":400,"status":"INVALID_ARGUMENT"}}'), 'invalid-reply', 'http_400'],
      [Object.assign(new Error('timed out'), { name: 'TimeoutError' }), 'transient', 'timeout'],
    ]
    for (const [error, kind, code] of cases) {
      const failure = classifyFailure(error, now)
      assert.deepEqual([failure.kind, failure.code], [kind, code], String(messageOf(error)))
    }
  })
})

describe('AI breaker', () => {
  it('opens after 3 failures in a row, lets one trial through after the cooldown, closes on success', () => {
    const breakers = new Breakers({ threshold: 3, cooldownMs: 1000 })
    for (const t of [0, 1, 2]) breakers.failed('google', t)
    assert.equal(breakers.allow('google', 500), false)
    assert.equal(breakers.allow('anthropic', 500), true, 'one breaker per provider')
    assert.equal(breakers.allow('google', 1500), true)
    assert.equal(breakers.allow('google', 1500), false, 'one trial at a time')
    breakers.failed('google', 1600)
    assert.equal(breakers.allow('google', 2000), false, 'a failed trial reopens it')
    assert.equal(breakers.allow('google', 2700), true)
    breakers.succeeded('google')
    assert.equal(breakers.allow('google', 2700), true)
  })
  it('a trial that was never made (a budget said no) does not keep the circuit shut', () => {
    const breakers = new Breakers({ threshold: 1, cooldownMs: 1000 })
    breakers.failed('google', 0)
    assert.equal(breakers.allow('google', 1000), true)
    breakers.release('google')
    assert.equal(breakers.allow('google', 1001), true)
  })
})

describe('AI tiers', () => {
  const fast: ModelTier = { tier: 'fast', provider: 'google', model: 'gemini-2.5-flash' }
  const analysis: ModelTier = { tier: 'analysis', provider: 'anthropic', model: 'claude-sonnet-4-6' }
  it('briefings try analysis then fast; a missing key or an open circuit steps down', () => {
    assert.deepEqual(ladder('briefing', { analysis, fast }, () => undefined).tiers, [analysis, fast])
    assert.deepEqual(
      ladder('briefing', { fast }, () => undefined),
      {
        tiers: [fast],
        skipped: [{ tier: 'analysis', reason: 'no_key' }],
      },
    )
    assert.deepEqual(
      ladder('briefing', { analysis, fast }, (tier) => (tier.provider === 'anthropic' ? 'circuit_open' : undefined)),
      { tiers: [fast], skipped: [{ tier: 'analysis', reason: 'circuit_open' }] },
    )
  })
  it('alert text never uses the analysis model', () => {
    assert.deepEqual(ladder('alert-text', { analysis, fast }, () => undefined).tiers, [fast])
    assert.deepEqual(ladder('alert-text', { analysis }, () => undefined).tiers, [])
  })
})

describe('AI structured text', () => {
  it('accepts plain text within the limits and refuses the rest', () => {
    assert.equal(alertTextShape.check({ title: 'Fuel at 8 %', body: 'Fill up at Fuel One, 3 km away.' }).ok, true)
    for (const bad of [
      { title: 'x'.repeat(81), body: 'ok' },
      { title: 'ok', body: 'x'.repeat(301) },
      { title: 'ok', body: '**bold**' },
      { title: '# Heading', body: 'ok' },
      { title: 'ok', body: '- a list' },
      { title: 'ok', body: 'see [here](http://x)' },
      { title: 'ok', body: '' },
      { title: 'ok' },
      { title: 'ok', body: 'ok', extra: 1 },
      'just a string',
    ]) {
      assert.equal(alertTextShape.check(bad).ok, false, JSON.stringify(bad))
    }
    assert.equal(briefingTextShape.check({ summary: 'Calm.', sections: [] }).ok, false, 'at least one section')
  })
  it('refuses anything but plain text: line breaks, control and bidi characters, HTML, entities, links', () => {
    const plain = 'Fill up at Fuel One, 3 km away (about 45.50 USD at 1.62 USD/L).'
    assert.equal(alertTextShape.check({ title: 'Fuel at 8 % in Moab, U.S.', body: plain }).ok, true)
    for (const body of [
      'Fill up now.\r\nBcc: victim@example.org',
      'Fill up now.\nTomorrow is too late.',
      'Fill up \u202Eevil\u202C now.',
      'Fill up\u200B now.',
      'Fill up <b>now</b>.',
      '<img src=x onerror=alert(1)>',
      'Fill up &amp; go.',
      'Fill up at https://evil.example now.',
      'Book at www.evil.example today.',
      'Book at evil.com today.',
      'Book at cheap-fuel.example/deal today.',
      'Call javascript:alert(1) now.',
    ]) {
      const checked = briefingTextShape.check({ summary: 'Calm.', sections: [{ title: 'Fuel', body }] })
      assert.equal(checked.ok, false, JSON.stringify(body))
      assert.equal(alertTextShape.check({ title: 'Fuel low', body }).ok, false, JSON.stringify(body))
    }
  })
  it('the schema sent to providers carries no length limits (checked locally instead)', () => {
    assert.ok(!JSON.stringify(briefingTextShape.wire).includes('maxLength'))
  })
})

describe('AI alert text', () => {
  it('rewrites urgent alerts and suggestions only', () => {
    assert.equal(wantsModelText({ kind: 'fuel_low', priority: 'medium' }), false)
    assert.equal(wantsModelText({ kind: 'fuel_low', priority: 'high' }), true)
    assert.equal(wantsModelText({ kind: 'budget_threshold', priority: 'urgent' }), true)
    assert.equal(wantsModelText({ kind: 'context_suggestion', priority: 'low' }), true)
  })
  it('drops ids and rounds positions', () => {
    assert.deepEqual(
      alertFacts({ vehicleId: 'v', percent: 8, stations: [{ name: 'A', lat: 38.57321, lon: -109.5512 }] }),
      {
        percent: 8,
        stations: [{ name: 'A', lat: 38.57, lon: -109.55 }],
      },
    )
  })
})
