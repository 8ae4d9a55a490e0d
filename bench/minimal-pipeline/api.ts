/**
 * The API process of the minimal write pipeline (`bench/write-rate.ts`'s yardstick): PAM's durable
 * steps of a fuel reading and nothing else, on bare `node:http`, pg, BullMQ and ws. A POST of
 * `{percent}` to /v1/vehicles/:id/fuel-readings (the traveller named by `x-user-id`, no auth)
 * stores the reading in one transaction (the table's trigger writes its evaluation mark, as for
 * PAM), then adds one BullMQ job; GET /v1/stream (same header) is a socket that gets `hello`, then
 * every alert event the worker publishes on Redis for that traveller. Environment: PORT,
 * DATABASE_URL, REDIS_URL, REDIS_PREFIX (its queue's and channel's keys).
 */
import { createServer } from 'node:http'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import pg from 'pg'
import { type WebSocket, WebSocketServer } from 'ws'
import { CHANNEL, QUEUE } from './names.js'

const prefix = process.env.REDIS_PREFIX ?? 'minimal'
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 })
const queue = new Queue(QUEUE, { connection: new Redis(process.env.REDIS_URL ?? ''), prefix })
const subscriber = new Redis(process.env.REDIS_URL ?? '')
const sockets = new Map<string, Set<WebSocket>>()
const READING = /^\/v1\/vehicles\/([0-9a-f-]{36})\/fuel-readings$/

async function store(userId: string, vehicleId: string, percent: number): Promise<string> {
  const client = await pool.connect()
  try {
    await client.query('begin')
    const { rows } = await client.query(
      'insert into fuel_readings (user_id, vehicle_id, percent) values ($1, $2, $3) returning id',
      [userId, vehicleId, percent],
    )
    await client.query('commit')
    return rows[0].id
  } catch (error) {
    await client.query('rollback')
    throw error
  } finally {
    client.release()
  }
}

const server = createServer((request, response) => {
  const userId = String(request.headers['x-user-id'])
  if (request.url === '/health') {
    response.writeHead(200).end()
    return
  }
  const vehicleId = READING.exec(request.url ?? '')?.[1]
  if (request.method !== 'POST' || !vehicleId) {
    response.writeHead(404).end()
    return
  }
  let body = ''
  request.on('data', (chunk) => {
    body += chunk
  })
  request.on('end', async () => {
    try {
      const { percent } = JSON.parse(body) as { percent: number }
      const id = await store(userId, vehicleId, percent)
      await queue.add('evaluate', { userId }, { attempts: 5, removeOnComplete: true, removeOnFail: 1000 })
      response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id }))
    } catch (error) {
      response.writeHead(500).end(String(error))
    }
  })
})

const wss = new WebSocketServer({ server, path: '/v1/stream' })
wss.on('connection', (socket, request) => {
  const userId = String(request.headers['x-user-id'])
  const own = sockets.get(userId) ?? new Set()
  sockets.set(userId, own.add(socket))
  socket.on('close', () => own.delete(socket))
  socket.send(JSON.stringify({ type: 'hello' }))
})

await subscriber.subscribe(`${prefix}:${CHANNEL}`)
subscriber.on('message', (_channel, message: string) => {
  const { userId, event } = JSON.parse(message) as { userId: string; event: unknown }
  const text = JSON.stringify(event)
  for (const socket of sockets.get(userId) ?? []) socket.send(text)
})

server.listen(Number(process.env.PORT), '127.0.0.1')
process.once('SIGTERM', async () => {
  for (const socket of wss.clients) socket.terminate()
  server.close()
  await queue.close()
  subscriber.disconnect()
  await pool.end()
  process.exit(0)
})
