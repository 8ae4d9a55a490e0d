import { STATUS_CODES } from 'node:http'
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

/**
 * Errors Node's HTTP parser meets before Fastify sees a request (a header over the size limit, a
 * request cut off by the request timeout, bytes that are not HTTP): answered in the contract's
 * error shape, like every other 4xx, then the connection is closed.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket) {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const answer = ANSWERS[error.code ?? ''] ?? MALFORMED
  const body = JSON.stringify({ error: answer.code, message: answer.message })
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy()
}
