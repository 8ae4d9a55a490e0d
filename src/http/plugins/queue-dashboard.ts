import { randomBytes } from 'node:crypto'
import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { FastifyAdapter } from '@bull-board/fastify'
import fastifyCookie from '@fastify/cookie'
import fastifyFormbody from '@fastify/formbody'
import helmet from '@fastify/helmet'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Caps } from '../../ai/budget.js'
import type { Queues } from '../../jobs/inspection.js'
import type { Cache } from '../../platform/cache/cache.js'
import type { HitCounter } from '../../platform/cache/hit-counter.js'
import type { Db } from '../../platform/db/database.js'
import { HttpError } from '../errors.js'
import { consoleOperatorRoutes } from '../routes/console-operator.js'
import { bearerToken, countInternalTokenFailure, internalTokenMatcher } from './internal-auth.js'
import { throttle } from './throttle.js'

const BASE = '/admin/queues'
const LOGIN = '/admin/login'
const LOGOUT = '/admin/logout'
const COOKIE = 'pam_admin_session'
const SESSION_TTL_MS = 12 * 3600 * 1000
// A session id as sign-in makes it (32 random bytes, base64url): nothing else is ever looked up.
const SESSION_ID = /^[\w-]{43}$/
// Sign-ins and sign-outs per address per minute: enough for a person, far too few to guess a token.
const SIGN_INS_PER_MINUTE = 10

/** An error in the contract's shape, sent from a hook whose route has bull-board's error handler. */
const answer = (reply: FastifyReply, error: HttpError) =>
  reply.code(error.statusCode).send({ error: error.code, message: error.message })

const forbidden = () =>
  new HttpError(403, 'forbidden', 'a state-changing request to the dashboard must come from its own page')

const loginPage = (failed: boolean) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PAM queues: sign in</title>
<style>body{font:16px system-ui;max-width:24rem;margin:4rem auto}input,button{font:inherit;width:100%;margin:.4rem 0;padding:.4rem}</style>
</head><body><h1>PAM queues</h1>
${failed ? '<p role="alert">That token is not the internal token.</p>' : ''}
<form method="post" action="${LOGIN}"><label>Internal token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">Sign in</button></form></body></html>`

/** Sessions in this process, for an app built without a shared store. */
function memorySessions(): Cache {
  const entries = new Map<string, { value: unknown; until: number }>()
  return {
    async get<T>(key: string) {
      const entry = entries.get(key)
      if (!entry || entry.until <= Date.now()) {
        entries.delete(key)
        return undefined
      }
      return entry.value as T
    },
    async set(key, value, ttlMs) {
      entries.set(key, { value, until: Date.now() + ttlMs })
    },
  }
}

/**
 * A browser's state-changing request must come from this very origin: SameSite=Strict does not
 * stop another port of the same host, or a sibling subdomain, which are the "same site".
 */
function fromThisOrigin(request: FastifyRequest, options: { required: boolean }) {
  const origin = request.headers.origin
  if (origin === undefined) return !options.required
  return typeof origin === 'string' && URL.canParse(origin) && new URL(origin).host === request.host
}

/**
 * The BullMQ dashboard at /admin/queues, behind the internal token: a Bearer header for tools,
 * or, for a browser, a sign-in form that opens an opaque session (12 h, revoked by signing out)
 * in an HttpOnly cookie scoped to /admin; the token itself is never stored in the browser.
 * `sessions` is shared by the API replicas when given (the deployment's cache).
 */
export function queueDashboard(deps: {
  queues: Queues
  internalToken: string
  secureCookies: boolean
  sessions?: Cache
  /** Where sign-ins, sign-outs and wrong tokens are counted per address (shared by the replicas). */
  hits: HitCounter
  /** The console's operator overview reads these (behind this dashboard's sign-in). */
  db: Db
  aiCaps: Caps
}) {
  const matches = internalTokenMatcher(deps.internalToken)
  const sessions = deps.sessions ?? memorySessions()
  const sessionKey = (id: string) => `admin-session:${id}`
  /** The request's session id, when it holds one that exists (a malformed cookie is never looked up). */
  const sessionOf = async (request: FastifyRequest) => {
    const id = request.cookies[COOKIE]
    return typeof id === 'string' && SESSION_ID.test(id) && (await sessions.get(sessionKey(id))) === true
      ? id
      : undefined
  }
  // Signing in or out needs no session, so only a foreign Origin is refused there; a change made
  // with the session cookie must show this origin.
  const refuseCrossOrigin = (request: FastifyRequest, required = false) => {
    if (!fromThisOrigin(request, { required })) throw forbidden()
  }
  const signInThrottle = throttle(deps.hits, {
    name: 'admin-session',
    max: SIGN_INS_PER_MINUTE,
    windowMs: 60_000,
    refusal: (max, retryAfter) =>
      `${max} sign-ins and sign-outs per minute from this address; retry in ${retryAfter} s`,
  })
  const countWrongBearer = countInternalTokenFailure(deps.hits)

  return async (app: FastifyInstance) => {
    await app.register(fastifyCookie)
    await app.register(fastifyFormbody)
    await app.register(helmet)

    app.get(LOGIN, async (_request, reply) => reply.type('text/html').send(loginPage(false)))
    app.post(LOGIN, { onRequest: signInThrottle }, async (request: FastifyRequest, reply: FastifyReply) => {
      refuseCrossOrigin(request)
      // token=a&token=b, a JSON number or no body at all is a failed sign-in (401), not a 500.
      const body: unknown = request.body
      const token = body && typeof body === 'object' && 'token' in body ? body.token : undefined
      if (typeof token !== 'string' || !matches(token)) {
        return reply.code(401).type('text/html').send(loginPage(true))
      }
      const id = randomBytes(32).toString('base64url')
      await sessions.set(sessionKey(id), true, SESSION_TTL_MS)
      reply.setCookie(COOKIE, id, {
        path: '/admin',
        httpOnly: true,
        sameSite: 'strict',
        secure: deps.secureCookies,
        maxAge: SESSION_TTL_MS / 1000,
      })
      return reply.redirect(BASE, 303)
    })
    app.post(LOGOUT, { onRequest: signInThrottle }, async (request, reply) => {
      refuseCrossOrigin(request)
      // Revoked where it is kept, so a copy of the cookie opens nothing afterwards; only a session
      // that exists is written: any other cookie value (an attacker's 8 KB) writes nothing anywhere.
      const id = await sessionOf(request)
      if (id) await sessions.set(sessionKey(id), false, SESSION_TTL_MS)
      reply.clearCookie(COOKIE, { path: '/admin' })
      return reply.redirect(LOGIN, 303)
    })

    await app.register(async (board) => {
      // Answered here rather than thrown: bull-board's own error handler would turn an error into
      // its 500-shaped body.
      board.addHook('onRequest', async (request, reply) => {
        const bearer = bearerToken(request)
        if (matches(bearer)) return
        if (await sessionOf(request)) {
          // The session cookie travels with any request from the browser: changes need this origin.
          if (['GET', 'HEAD', 'OPTIONS'].includes(request.method) || fromThisOrigin(request, { required: true })) return
          return answer(reply, forbidden())
        }
        // A wrong token counts against the address, as at the other internal doors.
        if (bearer !== undefined) {
          const refused = await countWrongBearer(request, reply).then(
            () => undefined,
            (error: HttpError) => error,
          )
          if (refused) return answer(reply, refused)
        }
        const wantsPage = (request.headers.accept ?? '').includes('text/html')
        if (wantsPage) return reply.redirect(LOGIN, 303)
        return reply
          .code(401)
          .header('WWW-Authenticate', 'Bearer realm="pam-internal"')
          .send({ error: 'unauthorized', message: 'the queue dashboard needs the internal token' })
      })
      await board.register(consoleOperatorRoutes(deps))
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
