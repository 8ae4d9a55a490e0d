import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { buildApiApp } from '../../src/app/roles/api.js'
import { startWorker } from '../../src/app/roles/worker.js'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import { QUEUE_NAMES } from '../../src/platform/backend/queue-names.js'
import { type Client, client, listenLocally, userToken } from './api.js'
import { type Harness, type Mode, startHarness } from './harness.js'
import { openStream, type StreamClient } from './stream.js'

export interface AlertStack {
  harness: Harness
  producer: Producer
  app: FastifyInstance
  /** A new traveller: their client, their alert stream (already past hello), and another device's. */
  traveller(): Promise<{ id: string; call: Client; stream: StreamClient; openDevice(): Promise<StreamClient> }>
  close(): Promise<void>
}

/** The whole path of an alert: an API listening on loopback, a worker on every queue, one harness. */
export async function startAlertStack(mode: Mode, env: Record<string, string>): Promise<AlertStack> {
  const harness = await startHarness(mode, env)
  const producer = createProducer(harness.deps.backend, harness.deps.logger)
  const app = await buildApiApp(harness.deps, producer)
  const base = await listenLocally(app)
  const controller = new AbortController()
  const worker = await startWorker(harness.deps, controller.signal, { queues: QUEUE_NAMES, concurrency: 4 })
  return {
    harness,
    producer,
    app,
    async traveller() {
      const id = randomUUID()
      const token = await userToken(id)
      const call = client(app, token)
      await call('GET', '/v1/me')
      const openDevice = async () => {
        const stream = await openStream(`ws://${base}/v1/stream`, { authorization: `Bearer ${token}` })
        await stream.next((m) => m.type === 'hello')
        return stream
      }
      return { id, call, stream: await openDevice(), openDevice }
    },
    async close() {
      controller.abort()
      await worker.stop()
      await app.close()
      await producer.close()
      await harness.close()
    },
  }
}
