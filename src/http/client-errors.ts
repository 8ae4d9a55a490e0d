import { type Server, STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { ErrorCode } from './errors.js'

const ANSWERS: Record<string, { status: number; code: ErrorCode; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    code: 'request_timeout',
    message: 'the request was not received in time; send it again, whole',
  },
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: 'header_too_large',
    message: 'the request headers are larger than this server accepts',
  },
}
const MALFORMED = { status: 400, code: 'bad_request' as const, message: 'the request is not valid HTTP' }

/** Writes a whole error response on a socket no request of Fastify's owns, then closes it. */
function answerAndClose(socket: Socket, answer: { status: number; code: ErrorCode; message: string }, extra = '') {
  const body = JSON.stringify({ error: answer.code, message: answer.message })
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\n${extra}Connection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy()
}

/**
 * Errors Node's HTTP parser meets before Fastify sees a request (a header over the size limit, a
 * request cut off by the request timeout, bytes that are not HTTP): answered in the contract's
 * error shape, like every other 4xx, then the connection is closed.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket) {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  answerAndClose(socket, ANSWERS[error.code ?? ''] ?? MALFORMED)
}

/**
 * At most `max` connections open at once from one client address: the next is answered 429 (in
 * the contract's shape, before it can send anything) and closed, so one address cannot hold
 * thousands of idle sockets. Counted per process, as the sockets are.
 */
export function capConnectionsPerAddress(server: Server, max: number) {
  const open = new Map<string, number>()
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? ''
    const count = (open.get(address) ?? 0) + 1
    if (count > max) {
      answerAndClose(
        socket,
        { status: 429, code: 'rate_limited', message: `at most ${max} connections at once from one address` },
        'Retry-After: 1\r\n',
      )
      return
    }
    open.set(address, count)
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1
      if (left > 0) open.set(address, left)
      else open.delete(address)
    })
  })
}
