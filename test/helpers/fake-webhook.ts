import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeWebhook {
  url: string
  /** The `text` of each message, in arrival order. */
  texts: string[]
  close(): Promise<void>
}

/** A Slack-compatible incoming webhook: POST `{"text": …}`, answered `ok` as Slack does. */
export async function startFakeWebhook(): Promise<FakeWebhook> {
  const texts: string[] = []
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text?: unknown }
    if (request.method !== 'POST' || typeof body.text !== 'string') {
      response.writeHead(400).end('invalid_payload')
      return
    }
    texts.push(body.text)
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/services/T000/B000/XXXX`,
    texts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
