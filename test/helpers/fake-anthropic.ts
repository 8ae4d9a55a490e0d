import { createServer, type Server } from 'node:http'

export interface FakeUsage {
  input: number
  output: number
  cacheWrite: number
  cacheRead: number
}

const tokens = (value: unknown) => Math.ceil(JSON.stringify(value).length / 4)

/** Usage as Anthropic would count it, with the marked system prefix cached across requests. */
function countedUsage(body: Record<string, unknown>, cached: Set<string>): FakeUsage {
  const system = (body.system ?? []) as { text: string; cache_control?: unknown }[]
  const marked = system
    .filter((block) => block.cache_control)
    .map((block) => block.text)
    .join('')
  const rest = tokens(body.messages) + tokens(system.filter((block) => !block.cache_control))
  const output = Math.min(Number(body.max_tokens), 300)
  if (!marked) return { input: rest, output, cacheWrite: 0, cacheRead: 0 }
  const hit = cached.has(marked)
  cached.add(marked)
  return { input: rest, output, cacheWrite: hit ? 0 : tokens(marked), cacheRead: hit ? tokens(marked) : 0 }
}

/**
 * A local Anthropic Messages API: `POST /v1/messages` answered as Anthropic does (`content` text
 * blocks, `usage` with the cache token counts). `reply` is the JSON the model "writes";
 * `failure` answers with Anthropic's error body (`{type:"error", error:{type, message}}`) and
 * status instead, with `retry-after` when set. Every request body is kept for assertions.
 */
export async function startFakeAnthropic() {
  const state = {
    reply: (_body: Record<string, unknown>): unknown => ({ title: 'AI title', body: 'AI body' }),
    usage: { input: 120, output: 40, cacheWrite: 0, cacheRead: 900 } as FakeUsage,
    /**
     * Counts tokens (about 4 characters each) and caches like Anthropic: a system block marked
     * with cache_control is written to the cache the first time and read from it after.
     */
    emulateCache: false,
    failure: undefined as undefined | { status: number; type: string; message?: string; retryAfter?: string },
    /** Milliseconds each answer waits: for concurrency tests. */
    delayMs: 0,
    requests: [] as Record<string, unknown>[],
  }
  const cached = new Set<string>()
  const server: Server = createServer((request, response) => {
    let raw = ''
    request.on('data', (chunk) => {
      raw += chunk
    })
    request.on('end', async () => {
      if (request.method !== 'POST' || !request.url?.endsWith('/v1/messages')) {
        response
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'not found' } }))
        return
      }
      const body = JSON.parse(raw) as Record<string, unknown>
      state.requests.push(body)
      if (state.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.delayMs))
      if (state.failure) {
        const { status, type, message, retryAfter } = state.failure
        response
          .writeHead(status, {
            'content-type': 'application/json',
            ...(retryAfter ? { 'retry-after': retryAfter } : {}),
          })
          .end(JSON.stringify({ type: 'error', error: { type, message: message ?? type } }))
        return
      }
      const reply = state.reply(body)
      const usage = state.emulateCache ? countedUsage(body, cached) : state.usage
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: `msg_${state.requests.length}`,
          type: 'message',
          role: 'assistant',
          model: body.model,
          content: [{ type: 'text', text: typeof reply === 'string' ? reply : JSON.stringify(reply) }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: {
            input_tokens: usage.input,
            output_tokens: usage.output,
            cache_creation_input_tokens: usage.cacheWrite,
            cache_read_input_tokens: usage.cacheRead,
          },
        }),
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}/v1`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
