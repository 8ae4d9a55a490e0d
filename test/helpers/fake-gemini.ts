import { createServer, type Server } from 'node:http'

/**
 * A local Gemini API: `POST /v1beta/models/<model>:generateContent` answered as Gemini does
 * (`candidates[].content.parts[].text`, `usageMetadata`). `failure` answers with Gemini's error
 * body (`{error:{code, message, status}}`) instead. Every request body is kept for assertions.
 */
export async function startFakeGemini() {
  const state = {
    reply: (_body: Record<string, unknown>): unknown => ({
      title: 'Fuel is low, 3 stations near',
      body: 'Fill up soon.',
    }),
    usage: { prompt: 200, candidates: 30, cached: 0 },
    failure: undefined as undefined | { code: number; status: string; retryAfter?: string },
    delayMs: 0,
    /** Bytes of filler added to an answer (a field Gemini does not send), its text unchanged. */
    padding: 0,
    requests: [] as { path: string; body: Record<string, unknown> }[],
  }
  const server: Server = createServer((request, response) => {
    let raw = ''
    request.on('data', (chunk) => {
      raw += chunk
    })
    request.on('end', async () => {
      const path = request.url ?? ''
      if (request.method !== 'POST' || !/\/models\/[^/:]+:generateContent$/.test(path)) {
        response
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { code: 404, message: 'not found', status: 'NOT_FOUND' } }))
        return
      }
      const body = JSON.parse(raw) as Record<string, unknown>
      state.requests.push({ path, body })
      if (state.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.delayMs))
      if (state.failure) {
        const { code, status, retryAfter } = state.failure
        response
          .writeHead(code, { 'content-type': 'application/json', ...(retryAfter ? { 'retry-after': retryAfter } : {}) })
          .end(JSON.stringify({ error: { code, message: status.toLowerCase(), status } }))
        return
      }
      const reply = state.reply(body)
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          ...(state.padding > 0 ? { filler: 'x'.repeat(state.padding) } : {}),
          candidates: [
            {
              content: { role: 'model', parts: [{ text: typeof reply === 'string' ? reply : JSON.stringify(reply) }] },
              finishReason: 'STOP',
              index: 0,
            },
          ],
          usageMetadata: {
            promptTokenCount: state.usage.prompt,
            candidatesTokenCount: state.usage.candidates,
            totalTokenCount: state.usage.prompt + state.usage.candidates,
            ...(state.usage.cached ? { cachedContentTokenCount: state.usage.cached } : {}),
          },
          modelVersion: path.split('/models/')[1]?.split(':')[0],
        }),
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}/v1beta`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
