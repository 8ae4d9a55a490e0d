import WebSocket from 'ws'

export interface StreamClient {
  messages: Record<string, unknown>[]
  socket: WebSocket
  /** Resolves with the first message (from now on, or already received) that `match` accepts. */
  next(match: (message: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>
  close(): void
}

/** Opens /v1/stream; rejects with the HTTP status when the upgrade is refused. */
export function openStream(url: string, headers: Record<string, string> = {}): Promise<StreamClient> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers })
    const messages: Record<string, unknown>[] = []
    const waiters: { match: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }[] =
      []
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as Record<string, unknown>
      messages.push(message)
      for (const waiter of [...waiters]) {
        if (waiter.match(message)) {
          waiters.splice(waiters.indexOf(waiter), 1)
          waiter.resolve(message)
        }
      }
    })
    socket.on('unexpected-response', (_request, response) =>
      reject(new Error(`upgrade refused: ${response.statusCode}`)),
    )
    socket.on('error', reject)
    socket.on('open', () =>
      resolve({
        messages,
        socket,
        next(match, timeoutMs = 5_000) {
          const seen = messages.find(match)
          if (seen) return Promise.resolve(seen)
          return new Promise((done, fail) => {
            const timer = setTimeout(() => fail(new Error(`no matching message within ${timeoutMs} ms`)), timeoutMs)
            waiters.push({
              match,
              resolve: (message) => {
                clearTimeout(timer)
                done(message)
              },
            })
          })
        },
        close: () => socket.close(),
      }),
    )
  })
}
