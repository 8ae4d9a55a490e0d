import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'

/** One event as Sentry's SDK sent it (the `event` items of its envelopes). */
// biome-ignore lint/suspicious/noExplicitAny: tests read events field by field and assert on them
export type SentryEvent = Record<string, any>

export interface FakeSentry {
  /** The DSN that sends this receiver the SDK's envelopes. */
  dsn: string
  events: SentryEvent[]
  /** Every envelope body as received (for "no secret anywhere" checks). */
  raw: string[]
  /** Envelopes holding an event whose answer was fully written (the sender waited for it). */
  answered(): number
  close(): Promise<void>
}

async function body(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  const data = Buffer.concat(chunks)
  return (request.headers['content-encoding'] === 'gzip' ? gunzipSync(data) : data).toString('utf8')
}

/**
 * Sentry's ingestion endpoint as the SDK speaks to it: `POST /api/<project>/envelope/`, a body of
 * newline-separated JSON (envelope header, then item header and payload pairs), gzip or not.
 * `answerAfterMs` holds each answer, as a slow network would.
 */
export async function startFakeSentry(options: { answerAfterMs?: number } = {}): Promise<FakeSentry> {
  const events: SentryEvent[] = []
  const raw: string[] = []
  let answered = 0
  const server = createServer(async (request, response) => {
    if (request.method !== 'POST' || !/^\/api\/\d+\/envelope\/?/.test(request.url ?? '')) {
      response.writeHead(404).end()
      return
    }
    const text = await body(request)
    raw.push(text)
    const lines = text.split('\n').filter((line) => line.length > 0)
    // Decided from this envelope's own items: another envelope's event may arrive while this answer is held.
    let holdsEvent = false
    for (let index = 1; index + 1 < lines.length; index += 2) {
      const header = JSON.parse(lines[index] as string) as { type?: string }
      if (header.type !== 'event') continue
      events.push(JSON.parse(lines[index + 1] as string))
      holdsEvent = true
    }
    if (options.answerAfterMs) await new Promise((resolve) => setTimeout(resolve, options.answerAfterMs))
    response.on('finish', () => {
      if (holdsEvent) answered += 1
    })
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    dsn: `http://publickey@127.0.0.1:${port}/1`,
    events,
    raw,
    answered: () => answered,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
