import assert from 'node:assert/strict'
import { after, before, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import parsePrometheus from 'parse-prometheus-text-format'
import { buildApiApp } from '../../src/app/roles/api.js'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import { recordScheduleRun } from '../../src/jobs/schedule-run-repository.js'
import { schedules } from '../../src/jobs/schedules.js'
import { type Harness, inBothModes, startHarness, TEST_INTERNAL_TOKEN } from '../helpers/harness.js'

const AUTH = { authorization: `Bearer ${TEST_INTERNAL_TOKEN}` }

inBothModes('metrics operators watch: pool, Redis memory, schedules', (mode) => {
  let harness: Harness
  let producer: Producer
  let app: FastifyInstance
  before(async () => {
    harness = await startHarness(mode)
    producer = createProducer(harness.deps.backend, harness.deps.logger)
    app = await buildApiApp(harness.deps, producer)
  })
  after(async () => {
    await app.close()
    await producer.close()
    await harness.close()
  })

  const scrape = async () => {
    const response = await app.inject({ url: '/metrics', headers: AUTH })
    assert.equal(response.statusCode, 200)
    return new Map(parsePrometheus(response.body).map((family) => [family.name, family]))
  }
  const samples = (families: Awaited<ReturnType<typeof scrape>>, name: string) =>
    (families.get(name)?.metrics ?? []) as { labels?: Record<string, string>; value: string }[]

  it("reports this process's database pool: connections open, idle, and queries waiting", async () => {
    const pool = samples(await scrape(), 'pam_db_pool_connections')
    const byState = Object.fromEntries(pool.map((sample) => [sample.labels?.state, Number(sample.value)]))
    assert.deepEqual(Object.keys(byState).sort(), ['idle', 'total', 'waiting'])
    assert.ok((byState.total ?? 0) >= 1, 'the scrape itself used a connection')
    assert.ok((byState.idle ?? 0) <= (byState.total ?? 0))
    assert.equal(byState.waiting, 0)
  })

  it("reports Redis's memory and its limit in Redis mode (0 without Redis)", async () => {
    const families = await scrape()
    const used = samples(families, 'pam_redis_memory_used_bytes')
    const max = samples(families, 'pam_redis_memory_max_bytes')
    if (mode === 'postgres') {
      assert.deepEqual([used[0]?.value, max[0]?.value], ['0', '0'])
      return
    }
    assert.ok(Number(used[0]?.value) > 100_000, `used_memory ${used[0]?.value}`)
    assert.ok(Number(max[0]?.value) >= 0)
  })

  it('reports when each schedule last ran, from the database any replica reads', async () => {
    await recordScheduleRun(harness.deps.db, 'pam-fuel-monitoring')
    const [row] = await harness.deps.db.selectFrom('schedule_runs').selectAll().execute()
    const last = samples(await scrape(), 'pam_schedule_last_run_timestamp_seconds')
    assert.deepEqual(
      last.map((sample) => [sample.labels?.schedule, Number(sample.value)]),
      [['pam-fuel-monitoring', (row?.last_run_at.getTime() ?? 0) / 1000]],
    )
  })

  it("reports every schedule's cadence as configured, which the missed-run alert compares with, whatever the queues hold", async () => {
    const wanted = schedules(harness.config)
    const cadence = new Map(
      samples(await scrape(), 'pam_schedule_cadence_seconds').map((sample) => [
        sample.labels?.schedule,
        Number(sample.value),
      ]),
    )
    assert.deepEqual([...cadence.keys()].sort(), wanted.map((schedule) => schedule.id).sort())
    assert.equal(cadence.get('pam-fuel-monitoring'), 300, 'SCHEDULE_FUEL_MONITORING: every 5 minutes')
    assert.equal(cadence.get('pam-budget-analysis'), 3600)
  })
})
