import type { FastifyInstance } from 'fastify'

/**
 * While the server drains, a request that still arrives (a kept-alive connection, a pipelined
 * request) is answered 503 in the contract's error shape, not Fastify's built-in body
 * (`return503OnClosing`, which must be off for this hook to run). Sent as text, past the route's
 * response schema: /ready's 503 describes a readiness report, which this answer is not.
 */
const SHUTTING_DOWN = JSON.stringify({ error: 'unavailable', message: 'PAM is shutting down; try again shortly' })

export function registerShutdownResponse(app: FastifyInstance) {
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  // A callback hook: every request passes it, and an async one would cost a promise each.
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done()
    reply.code(503).header('connection', 'close').type('application/json; charset=utf-8').send(SHUTTING_DOWN)
  })
}
