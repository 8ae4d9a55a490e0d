import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import { webhookChannel } from '../../src/operations/operator-channels.js'
import { checkOperatorConditions, type OperatorWatchDeps } from '../../src/operations/operator-watch.js'
import { databaseOutage } from '../helpers/database-outage.js'
import { startFakeWebhook } from '../helpers/fake-webhook.js'
import { eventually, type Harness, inBothModes, startHarness, testEnv } from '../helpers/harness.js'
import { type PrivateRedis, privateRedis, privateRedisUnavailable } from '../helpers/private-services.js'
import { type PamProcess, spawnPam } from '../helpers/process.js'
import { startSmtpPeer } from '../helpers/smtp-peer.js'

const count = (texts: string[], pattern: RegExp) => texts.filter((text) => pattern.test(text)).length

inBothModes('operator alerts to a Slack-compatible webhook', (mode) => {
  let harness: Harness
  let producer: Producer
  before(async () => {
    harness = await startHarness(mode)
    producer = createProducer(harness.deps.backend, harness.deps.logger)
  })
  after(async () => {
    await producer.close()
    await harness.close()
  })

  const sweep = (monitor: string, status: 'succeeded' | 'degraded' | 'failed') =>
    harness.deps.db
      .insertInto('monitor_runs')
      .values({ monitor, status, finished_at: sql<Date>`now()`, error: status === 'failed' ? 'boom' : null })
      .execute()

  it('two schedulers announce each condition once, and its resolution once', async () => {
    const webhook = await startFakeWebhook()
    // Stopped before the next test: a scheduler left running would announce its conditions too.
    const schedulers: PamProcess[] = []
    try {
      const env = testEnv(mode, harness.databaseUrl, {
        REDIS_PREFIX: harness.config.REDIS_PREFIX,
        OPS_ALERT_WEBHOOK_URL: webhook.url,
        OPS_ALERT_CHECK_INTERVAL_MS: '1000',
        // The drainer runs every 5 s by default: without a worker it would be missed within a minute.
        SCHEDULE_EVALUATION_DRAIN: '0 0 1 1 *',
      })
      schedulers.push(spawnPam(['scheduler'], env), spawnPam(['scheduler'], env))
      const texts = webhook.texts
      // No worker at all: every queue is without one.
      await eventually(
        async () => (count(texts, /ALERT queue_without_worker/) >= 3 ? true : undefined),
        90_000,
        'three queues without a worker',
      )
      await sweep('fuel', 'degraded')
      await harness.deps.db
        .insertInto('provider_outcomes')
        .values({ provider: 'weather', minute: new Date(), succeeded: 1, failed: 9 })
        .execute()
      await harness.deps.db
        .insertInto('schedule_runs')
        .values({ schedule: 'pam-budget-analysis', last_run_at: new Date(Date.now() - 3 * 3_600_000) })
        .execute()
      // 4.50 of the default AI_DAILY_BUDGET_USD of 5.00 spent today.
      const today = new Date().toISOString().slice(0, 10)
      await harness.deps.db
        .insertInto('ai_budget_days')
        .values({ scope: 'deployment', day: today, spent_usd: '4.5' })
        .execute()
      await producer.queues.get('maintenance')?.add('no.such.task', {})
      const worker = spawnPam(['worker'], env)
      await eventually(
        async () =>
          count(texts, /RESOLVED queue_without_worker/) >= 3 &&
          count(texts, /ALERT job_failed: 1 no\.such\.task job\(s\) on queue maintenance failed for good/) >= 1 &&
          count(texts, /ALERT sweep_unhealthy: the fuel sweep finished degraded/) >= 1 &&
          count(texts, /ALERT provider_failing: the weather provider failed 9 of 10 lookups \(90 %\)/) >= 1 &&
          count(texts, /ALERT schedule_missed: schedule pam-budget-analysis missed its runs/) >= 1 &&
          count(texts, /ALERT ai_budget: 90 % of today's AI budget is spent \(4\.50 of 5\.00\)/) >= 1
            ? true
            : undefined,
        90_000,
        'a worker, a failed job, a degraded sweep, a failing provider, a missed schedule and the AI budget',
      )
      // Each clears.
      await sweep('fuel', 'succeeded')
      await harness.deps.db.deleteFrom('provider_outcomes').execute()
      await harness.deps.db
        .updateTable('schedule_runs')
        .set({ last_run_at: new Date() })
        .where('schedule', '=', 'pam-budget-analysis')
        .execute()
      await harness.deps.db.updateTable('ai_budget_days').set({ spent_usd: '1' }).execute()
      await eventually(
        async () =>
          count(texts, /RESOLVED sweep_unhealthy/) >= 1 &&
          count(texts, /RESOLVED provider_failing/) >= 1 &&
          count(texts, /RESOLVED schedule_missed/) >= 1 &&
          count(texts, /RESOLVED ai_budget/) >= 1
            ? true
            : undefined,
        90_000,
        'the four to be resolved',
      )
      // A last condition, raised after all of the above: any duplicate would have arrived by then.
      await sweep('weather', 'failed')
      await eventually(
        async () => (count(texts, /ALERT sweep_unhealthy: the weather sweep failed/) ? true : undefined),
        90_000,
      )
      await worker.stop()

      for (const pattern of [
        /ALERT queue_without_worker: no live worker consumes queue notifications/,
        /ALERT queue_without_worker: no live worker consumes queue analytics/,
        /ALERT queue_without_worker: no live worker consumes queue maintenance/,
        /RESOLVED queue_without_worker: no live worker consumes queue maintenance/,
        /ALERT job_failed/,
        /ALERT sweep_unhealthy: the fuel sweep/,
        /RESOLVED sweep_unhealthy: the fuel sweep/,
        /ALERT provider_failing/,
        /RESOLVED provider_failing/,
        /ALERT schedule_missed/,
        /RESOLVED schedule_missed/,
        /ALERT ai_budget/,
        /RESOLVED ai_budget/,
      ]) {
        assert.equal(count(texts, pattern), 1, `${pattern} in:\n${texts.join('\n')}`)
      }
      for (const text of texts) assert.match(text, /^\[PAM development\] (ALERT|RESOLVED) /)
    } finally {
      await Promise.all(schedulers.map((scheduler) => scheduler.stop('SIGTERM')))
      await webhook.close()
    }
  })

  it("tells the operator what failed in PAM's words, never an error's text (a traveller may have written it)", async () => {
    // What a traveller, a push service or a mail server can put in an error: Slack markup, a link.
    const written = 'time zone "<https://evil.example|Reset PAM>" not recognized'
    const worker = harness.deps.backend.createWorker(
      'analytics',
      async () => {
        throw new Error(written)
      },
      { concurrency: 1 },
    )
    try {
      await producer.queues.get('analytics')?.add('ai.briefings.sweep', {}, { attempts: 1 })
      await eventually(async () => ((await producer.queues.get('analytics')?.getFailedCount()) ? true : undefined))
    } finally {
      await worker.close()
    }
    await harness.deps.db
      .insertInto('monitor_runs')
      .values({ monitor: 'budget', status: 'failed', finished_at: sql<Date>`now()`, error: written })
      .execute()
    const webhook = await startFakeWebhook()
    try {
      const messages = await checkOperatorConditions(
        {
          db: harness.deps.db,
          queues: producer.queues,
          queueStore: harness.deps.backend.kind,
          schedules: [],
          config: {
            ENVIRONMENT: 'staging',
            OPS_ALERT_COOLDOWN_MS: 0,
            OPS_ALERT_CHECK_INTERVAL_MS: 1000,
            OPS_PROVIDER_FAILURE_RATIO: 0.5,
          },
          channels: [webhookChannel(webhook.url)],
          logger: harness.deps.logger,
        },
        new Date(),
      )
      const raised = messages.map((m) => m.condition)
      assert.ok(raised.includes('job_failed:analytics:ai.briefings.sweep'), raised.join(', '))
      assert.ok(raised.includes('sweep_unhealthy:budget'), raised.join(', '))
      const texts = webhook.texts.filter((text) => /job_failed|sweep_unhealthy: the budget/.test(text))
      assert.equal(texts.length, 2, webhook.texts.join('\n'))
      for (const text of texts) {
        assert.doesNotMatch(text, /evil|Reset PAM|not recognized|[<>|"]/, text)
        assert.match(text, /pam inspect failed/)
      }
    } finally {
      await webhook.close()
    }
  })

  it('does not announce a condition that comes back within its cooldown', async () => {
    const webhook = await startFakeWebhook()
    try {
      const deps = (cooldownMs: number): OperatorWatchDeps => ({
        db: harness.deps.db,
        queues: producer.queues,
        queueStore: harness.deps.backend.kind,
        schedules: [],
        config: {
          ENVIRONMENT: 'staging',
          OPS_ALERT_COOLDOWN_MS: cooldownMs,
          OPS_ALERT_CHECK_INTERVAL_MS: 1000,
          OPS_PROVIDER_FAILURE_RATIO: 0.5,
        },
        channels: [webhookChannel(webhook.url)],
        logger: harness.deps.logger,
      })
      const since = new Date()
      const check = async (cooldownMs = 3_600_000) =>
        (await checkOperatorConditions(deps(cooldownMs), since))
          .filter((m) => m.condition === 'sweep_unhealthy:context')
          .map((m) => m.change)
      await sweep('context', 'degraded')
      assert.deepEqual(await check(), ['raised'])
      assert.deepEqual(await check(), [])
      await sweep('context', 'succeeded')
      assert.deepEqual(await check(), ['resolved'])
      await sweep('context', 'failed')
      assert.deepEqual(await check(), [], 'back within the cooldown: not announced')
      assert.deepEqual(await check(0), ['raised'], 'still there once the cooldown is over: announced')
      assert.equal(count(webhook.texts, /^\[PAM staging\] ALERT sweep_unhealthy: the context sweep/), 2)
    } finally {
      await webhook.close()
    }
  })

  it('an outage of PostgreSQL is one alert, none for the jobs it failed that redo their work; a real failure still is', async () => {
    const webhook = await startFakeWebhook()
    const env = testEnv(mode, harness.databaseUrl, {
      REDIS_PREFIX: harness.config.REDIS_PREFIX,
      MIGRATE_ON_START: 'false',
      OPS_ALERT_WEBHOOK_URL: webhook.url,
      OPS_ALERT_CHECK_INTERVAL_MS: '1000',
      // Drain ticks every second: several run, and fail, while PostgreSQL is away.
      SCHEDULE_EVALUATION_DRAIN: '* * * * * *',
      SCHEDULE_DELIVERY_DRAIN: '* * * * * *',
    })
    const processes = [spawnPam(['worker'], env), spawnPam(['scheduler'], env)]
    const texts = webhook.texts
    const notifications = producer.queues.get('notifications')
    const completed = async () => (await notifications?.getCompletedCount()) ?? 0
    const earlier = await completed()
    try {
      await eventually(
        async () => ((await completed()) >= earlier + 5 ? true : undefined),
        90_000,
        'drain ticks running',
      )
      const outage = await databaseOutage(harness.databaseUrl)
      try {
        await eventually(
          async () => (count(texts, /ALERT store_unavailable: PostgreSQL does not answer/) ? true : undefined),
          30_000,
          'the outage announced',
        )
        // Drain ticks keep coming, and failing, meanwhile.
        await sleep(6_000)
      } finally {
        await outage.restore()
      }
      await eventually(
        async () => (count(texts, /RESOLVED store_unavailable/) ? true : undefined),
        60_000,
        'the outage resolved',
      )
      // A job that fails for a reason of its own (on a queue of its own here: the first test's is still firing).
      await notifications?.add('no.such.task', {})
      await eventually(
        async () =>
          count(texts, /ALERT job_failed: 1 no\.such\.task job\(s\) on queue notifications/) ? true : undefined,
        60_000,
        'the failed job announced',
      )
      if (mode === 'redis') {
        // Redis kept the queues through PostgreSQL's outage: drain ticks did fail for good in it.
        const failed = await notifications?.getFailed(0, 200)
        assert.ok(
          failed?.some((job) => job.name.endsWith('.drain') && job.failedReason.startsWith('store unavailable: ')),
          'drain ticks failed during the outage, marked as the outage',
        )
      }
      assert.equal(count(texts, /ALERT store_unavailable/), 1, texts.join('\n'))
      assert.equal(count(texts, /RESOLVED store_unavailable/), 1, texts.join('\n'))
      assert.deepEqual(
        texts.filter((text) => /ALERT job_failed/.test(text) && !/no\.such\.task/.test(text)),
        [],
        'no job_failed for work that comes back by itself',
      )
    } finally {
      await Promise.all(processes.map((process) => process.stop('SIGTERM')))
      await webhook.close()
    }
  })
})

describe('operator alerts by email (OPS_ALERT_EMAIL through the SMTP settings) [postgres-only mode]', () => {
  let harness: Harness
  before(async () => {
    harness = await startHarness('postgres')
  })
  after(async () => {
    await harness.close()
  })

  it('a scheduler emails the operator a condition that holds', async () => {
    const smtp = await startSmtpPeer()
    try {
      spawnPam(
        ['scheduler'],
        testEnv('postgres', harness.databaseUrl, {
          OPS_ALERT_EMAIL: 'ops@example.org',
          SMTP_URL: smtp.url,
          EMAIL_FROM: 'PAM <pam@example.org>',
          OPS_ALERT_CHECK_INTERVAL_MS: '1000',
          SCHEDULE_EVALUATION_DRAIN: '0 0 1 1 *',
        }),
      )
      // No worker runs: every queue is without one.
      const mail = await eventually(
        async () => smtp.state.mails.find((m) => /ALERT queue_without_worker/.test(m.subject ?? '')),
        90_000,
        'an operator alert email',
      )
      assert.equal(mail.to && 'text' in mail.to ? mail.to.text : undefined, 'ops@example.org')
      assert.equal(mail.from?.value[0]?.address, 'pam@example.org')
      assert.match(mail.text ?? '', /no live worker consumes queue/)
    } finally {
      await smtp.stop()
    }
  })
})

const noRedisServer = privateRedisUnavailable()

describe('operator alerts through a Redis restart [redis mode]', noRedisServer ? { skip: noRedisServer } : {}, () => {
  let redis: PrivateRedis
  let harness: Harness
  before(async () => {
    redis = await privateRedis()
    harness = await startHarness('redis', { REDIS_URL: redis.url })
  })
  after(async () => {
    await harness.close()
    await redis.stop()
  })

  it('is one alert about the outage, resolved when Redis answers again', async () => {
    const webhook = await startFakeWebhook()
    const scheduler = spawnPam(
      ['scheduler'],
      testEnv('redis', harness.databaseUrl, {
        REDIS_URL: redis.url,
        REDIS_PREFIX: harness.config.REDIS_PREFIX,
        MIGRATE_ON_START: 'false',
        OPS_ALERT_WEBHOOK_URL: webhook.url,
        OPS_ALERT_CHECK_INTERVAL_MS: '1000',
      }),
    )
    const texts = webhook.texts
    try {
      // Checking: with no worker, its queues are announced without one.
      await eventually(async () => (count(texts, /ALERT queue_without_worker/) ? true : undefined), 90_000, 'a check')
      await redis.kill()
      try {
        await eventually(
          async () => (count(texts, /ALERT store_unavailable: Redis does not answer/) ? true : undefined),
          30_000,
          'the outage announced',
        )
        await sleep(3_000)
      } finally {
        await redis.start()
      }
      await eventually(async () => (count(texts, /RESOLVED store_unavailable/) ? true : undefined), 60_000, 'resolved')
      assert.equal(count(texts, /ALERT store_unavailable/), 1, texts.join('\n'))
      assert.equal(count(texts, /RESOLVED store_unavailable/), 1, texts.join('\n'))
    } finally {
      await scheduler.stop('SIGTERM')
      await webhook.close()
    }
  })
})
