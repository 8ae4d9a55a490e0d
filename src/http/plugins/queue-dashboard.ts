import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { FastifyAdapter } from '@bull-board/fastify'
import fastifyCookie from '@fastify/cookie'
import fastifyFormbody from '@fastify/formbody'
import type { FastifyInstance } from 'fastify'
import type { Queues } from '../../jobs/inspection.js'
import { bearerToken, internalTokenMatcher } from './internal-auth.js'

const BASE = '/admin/queues'
const LOGIN = '/admin/login'
const COOKIE = 'pam_internal'

const loginPage = (failed: boolean) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PAM queues: sign in</title>
<style>body{font:16px system-ui;max-width:24rem;margin:4rem auto}input,button{font:inherit;width:100%;margin:.4rem 0;padding:.4rem}</style>
</head><body><h1>PAM queues</h1>
${failed ? '<p role="alert">That token is not the internal token.</p>' : ''}
<form method="post" action="${LOGIN}"><label>Internal token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">Sign in</button></form></body></html>`

/**
 * The BullMQ dashboard at /admin/queues, behind the internal token: a Bearer header for tools,
 * or, for a browser, a sign-in form that sets an HttpOnly cookie scoped to /admin.
 */
export function queueDashboard(deps: { queues: Queues; internalToken: string; secureCookies: boolean }) {
  const matches = internalTokenMatcher(deps.internalToken)
  return async (app: FastifyInstance) => {
    await app.register(fastifyCookie)
    await app.register(fastifyFormbody)

    app.get(LOGIN, async (_request, reply) => reply.type('text/html').send(loginPage(false)))
    app.post<{ Body: { token?: string } }>(LOGIN, async (request, reply) => {
      if (!matches(request.body?.token)) return reply.code(401).type('text/html').send(loginPage(true))
      reply.setCookie(COOKIE, request.body?.token ?? '', {
        path: '/admin',
        httpOnly: true,
        sameSite: 'strict',
        secure: deps.secureCookies,
        maxAge: 12 * 3600,
      })
      return reply.redirect(BASE, 303)
    })

    await app.register(async (board) => {
      board.addHook('onRequest', async (request, reply) => {
        if (matches(bearerToken(request)) || matches(request.cookies[COOKIE])) return
        const wantsPage = (request.headers.accept ?? '').includes('text/html')
        if (wantsPage) return reply.redirect(LOGIN, 303)
        return reply
          .code(401)
          .header('WWW-Authenticate', 'Bearer realm="pam-internal"')
          .send({ error: 'unauthorized', message: 'the queue dashboard needs the internal token' })
      })
      const serverAdapter = new FastifyAdapter()
      serverAdapter.setBasePath(BASE)
      createBullBoard({
        queues: [...deps.queues.values()].map((queue) => new BullMQAdapter(queue as never)),
        serverAdapter,
      })
      await board.register(serverAdapter.registerPlugin(), { prefix: BASE })
    })
  }
}
