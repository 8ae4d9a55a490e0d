/**
 * The worker process of the minimal write pipeline (see `api.ts`): a BullMQ worker (concurrency
 * 8, as `pam worker` in the bench) whose job reads the traveller's snapshot (the latest reading of
 * each vehicle), then in one transaction opens the fuel alert of each vehicle below 20 % (an upsert
 * on PAM's dedupe index), resolves the others' and clears the traveller's evaluation marks, and
 * publishes what changed on Redis. The rule and the alert rows are PAM's, minus everything else.
 */
import { Worker } from 'bullmq'
import { Redis } from 'ioredis'
import pg from 'pg'
import { CHANNEL, QUEUE } from './names.js'

const prefix = process.env.REDIS_PREFIX ?? 'minimal'
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 })
const publisher = new Redis(process.env.REDIS_URL ?? '')
const BELOW_PERCENT = 20

async function evaluate(userId: string) {
  const { rows: latest } = await pool.query<{ id: string; percent: string }>(
    `select v.id, r.percent from vehicles v
     cross join lateral (select percent from fuel_readings r where r.vehicle_id = v.id
                         order by observed_at desc, id desc limit 1) r
     where v.user_id = $1`,
    [userId],
  )
  const events: { type: string; alert: { id: string } }[] = []
  const client = await pool.connect()
  try {
    await client.query('begin')
    for (const vehicle of latest) {
      const key = `fuel:${vehicle.id}|medium`
      if (Number(vehicle.percent) < BELOW_PERCENT) {
        const { rows } = await client.query(
          `insert into alerts (user_id, kind, priority, title, body, data, dedupe_key)
           values ($1, 'fuel_low', 'medium', 'Fuel low', $2, $3, $4)
           on conflict (user_id, dedupe_key) where resolved_at is null do nothing returning id`,
          [userId, `Fuel at ${vehicle.percent} %`, { vehicleId: vehicle.id, ruleVersion: 1 }, key],
        )
        for (const row of rows) events.push({ type: 'alert.created', alert: row })
      } else {
        const { rows } = await client.query(
          `update alerts set resolved_at = now()
           where user_id = $1 and dedupe_key = $2 and resolved_at is null returning id`,
          [userId, key],
        )
        for (const row of rows) events.push({ type: 'alert.resolved', alert: row })
      }
    }
    await client.query(`delete from evaluation_marks where user_id = $1 and monitor = 'fuel'`, [userId])
    await client.query('commit')
  } catch (error) {
    await client.query('rollback')
    throw error
  } finally {
    client.release()
  }
  for (const event of events) await publisher.publish(`${prefix}:${CHANNEL}`, JSON.stringify({ userId, event }))
}

const worker = new Worker(QUEUE, async (job) => evaluate(job.data.userId), {
  connection: new Redis(process.env.REDIS_URL ?? '', { maxRetriesPerRequest: null }),
  prefix,
  concurrency: 8,
})
worker.on('error', () => undefined)
await worker.waitUntilReady()
process.stdout.write('ready\n')
process.once('SIGTERM', async () => {
  await worker.close()
  publisher.disconnect()
  await pool.end()
  process.exit(0)
})
