import assert from 'node:assert/strict'
import { appendFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type pg from 'pg'
import { eventually } from '../helpers/harness.js'
import { type System, startSystem } from './chaos.js'
import { judge } from './invariants.js'
import { type Load, startLoad } from './load.js'
import type { Observations } from './observe.js'

/**
 * The chaos run's self-test: its invariants hold on a small deployment left alone, and each one
 * fails when what it checks is broken on purpose — in the database (inside a transaction rolled
 * back afterwards), in what a client or the SMTP peer saw, in a process, in a log.
 */
describe('the chaos invariants, on a deployment left alone and broken on purpose [postgres-only mode]', () => {
  let system: System
  let load: Load
  let settled: string
  // Six readings per van: clear, medium, high, clear, medium, high. Two high alerts emailed each.
  const READINGS_PER_VAN = 6
  const TRAVELLERS = 3

  before(async () => {
    system = await startSystem({
      mode: 'postgres',
      apis: 1,
      workers: 1,
      travellers: TRAVELLERS,
      vehiclesPerTraveller: 1,
      log: () => undefined,
    })
    load = startLoad(system.travellers, system.deployment.apiBases, { rate: 5, perVehicle: READINGS_PER_VAN })
    await eventually(async () => (load.finished() ? true : undefined), 60_000, 'every reading accepted')
    settled = await system.settle(load, 60_000)
  })
  after(async () => {
    await system?.close()
  })

  /** The invariants that fail on what `observe` reads: their numbers. */
  const failing = (o: Observations) =>
    judge(o)
      .filter((v) => !v.ok)
      .map((v) => v.id)
  /** Observations read inside a transaction after `breakIt`, which is then rolled back. */
  const brokenInDatabase = (breakIt: (client: pg.Client) => Promise<unknown>) =>
    system.withDatabase(async (client) => {
      await client.query('begin')
      try {
        await breakIt(client)
        return await system.observe(load, { logs: false }, client)
      } finally {
        await client.query('rollback')
      }
    })

  it('all hold, on figures that are not empty', async () => {
    assert.match(settled, /^settled/)
    const o = await system.observe(load, { logs: true })
    const failed = judge(o).filter((v) => !v.ok)
    assert.deepEqual(
      failed.map((v) => `${v.id}. ${v.title}: ${v.figures}; ${v.examples.join('; ')}`),
      [],
    )
    assert.equal(o.readings.length, TRAVELLERS * READINGS_PER_VAN)
    assert.equal(o.alerts.filter((a) => a.open && a.priority === 'high').length, TRAVELLERS)
    assert.equal(o.mails.length, TRAVELLERS * 2)
    assert.equal(o.travellers.filter((t) => t.view.size === 1).length, TRAVELLERS)
    assert.ok((o.logs?.bytes ?? 0) > 0)
  })

  it('1 fails when an accepted reading is missing, or stored twice', async () => {
    const deleted = await brokenInDatabase((client) =>
      client.query(`delete from fuel_readings where id = (select id from fuel_readings order by observed_at limit 1)`),
    )
    assert.deepEqual(failing(deleted), [1])
    const doubled = await brokenInDatabase((client) =>
      client.query(`insert into fuel_readings (user_id, vehicle_id, percent, observed_at)
                    select user_id, vehicle_id, percent, observed_at from fuel_readings order by observed_at limit 1`),
    )
    assert.deepEqual(failing(doubled), [1])
  })

  it("2 fails when a vehicle's open alert does not match its last reading", async () => {
    const o = await brokenInDatabase((client) =>
      client.query(`update alerts set priority = 'medium'
                    where id = (select id from alerts where resolved_at is null limit 1)`),
    )
    assert.deepEqual(failing(o), [2])
  })

  it('3 fails when a condition has a second open alert (and the client never heard of it)', async () => {
    const o = await brokenInDatabase((client) =>
      client.query(`insert into alerts (user_id, kind, priority, title, body, data, dedupe_key)
                    select user_id, kind, 'medium', 'a second one', body, data, split_part(dedupe_key, '|', 1) || '|medium'
                    from alerts where resolved_at is null limit 1`),
    )
    // Two open alerts: 2 sees high+medium for one vehicle, 4 an alert no client was told of.
    assert.deepEqual(failing(o), [2, 3, 4])
  })

  it("4 fails when a client missed an alert's creation, or its resolution", async () => {
    const o = await system.observe(load, { logs: false })
    const [first, ...others] = o.travellers
    assert.ok(first)
    const missedCreation = { ...o, travellers: [{ ...first, view: new Map() }, ...others] }
    assert.deepEqual(failing(missedCreation), [4])
    const resolved = o.alerts.find((a) => !a.open && a.userId === first.id)
    assert.ok(resolved)
    const missedResolution = {
      ...o,
      travellers: [{ ...first, view: new Map([...first.view, [resolved.id, resolved.priority]]) }, ...others],
    }
    assert.deepEqual(failing(missedResolution), [4])
  })

  it('5 fails when an alert is emailed twice (and 6: received more than recorded)', async () => {
    const o = await system.observe(load, { logs: false })
    assert.deepEqual(failing({ ...o, mails: [...o.mails, o.mails[0] as Observations['mails'][number]] }), [5, 6])
  })

  it('6 fails when a sent email is recorded otherwise, or a recorded one never arrived', async () => {
    const suppressed = await brokenInDatabase((client) =>
      client.query(`update deliveries set status = 'suppressed', reason = 'resolved'
                    where id = (select id from deliveries where status = 'sent' limit 1)`),
    )
    assert.deepEqual(failing(suppressed), [6])
    const o = await system.observe(load, { logs: false })
    assert.deepEqual(failing({ ...o, mails: o.mails.slice(1) }), [6])
    // Unless the row says it is in doubt: taken over from a worker killed between send and record.
    const doubted = await brokenInDatabase((client) =>
      client.query(`update deliveries set status = 'suppressed', reason = 'resolved', in_doubt = true
                    where id = (select id from deliveries where status = 'sent' limit 1)`),
    )
    assert.deepEqual(failing(doubted), [])
  })

  it('7 fails when a process stops answering, or ended without a fault', async () => {
    const worker = system.deployment.workers[0]
    assert.ok(worker)
    system.deployment.signal(worker, 'SIGSTOP')
    try {
      assert.deepEqual(failing(await system.observe(load, { logs: false })), [7])
    } finally {
      system.deployment.signal(worker, 'SIGCONT')
    }
    const o = await system.observe(load, { logs: false })
    const [first, ...others] = o.processes
    assert.ok(first)
    const crashed = { ...o, processes: [{ ...first, unexpectedExits: ['api-1 exited with 1'] }, ...others] }
    assert.deepEqual(failing(crashed), [7])
  })

  it('8 fails when a secret is in a log', async () => {
    const planted = join(system.deployment.folder, 'planted.log')
    const { JWT_SECRET } = system.deployment.secrets
    appendFileSync(planted, `{"level":30,"msg":"verifying with ${JWT_SECRET}"}\n`)
    try {
      const o = await system.observe(load, { logs: true })
      assert.deepEqual(failing(o), [8])
      assert.deepEqual(o.logs?.found, [{ secret: 'JWT_SECRET', file: 'planted.log' }])
    } finally {
      rmSync(planted)
    }
  })
})
