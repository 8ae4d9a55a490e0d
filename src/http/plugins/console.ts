import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import helmet from '@fastify/helmet'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** Where `npm run build` (console/build.mjs) writes the console: from src/http/plugins or dist/http/plugins alike. */
export const CONSOLE_DIST = fileURLToPath(new URL('../../../console/dist', import.meta.url))

/**
 * The console's own policy: its script and stylesheet from this origin only, no inline code,
 * its API calls and stream to this origin only; nothing may frame it.
 */
const CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    baseUri: ["'none'"],
    frameAncestors: ["'none'"],
  },
}

export interface ConsoleOptions {
  /** Development only: a token for the demo traveller, for the one-click sign-in; undefined elsewhere. */
  demoToken?: () => Promise<string>
}

/** A browser's request from this very page (a foreign site cannot mint itself a demo token). */
const fromThisOrigin = (request: FastifyRequest) =>
  typeof request.headers.origin === 'string' &&
  URL.canParse(request.headers.origin) &&
  new URL(request.headers.origin).host === request.host

/**
 * The web console at /console (a traveller's view) and /console/operator: the files console/build.mjs
 * built, under a CSP of their own. Their data comes from the API and /admin/console/overview.
 */
export function consolePages(options: ConsoleOptions) {
  return async (app: FastifyInstance) => {
    await app.register(helmet, { contentSecurityPolicy: CSP, referrerPolicy: { policy: 'no-referrer' } })
    const built = existsSync(CONSOLE_DIST)
    const page = async (_request: FastifyRequest, reply: FastifyReply) => {
      if (!built)
        return reply.code(503).send({
          error: 'console_not_built',
          message:
            'the console is not built: run npm run build (npm start builds it when dev dependencies are installed)',
        })
      return reply.header('cache-control', 'no-cache').sendFile('index.html', CONSOLE_DIST)
    }
    // Only what was built is served (a missing build is the 503 above, with how to make it).
    if (built)
      await app.register(fastifyStatic, {
        root: `${CONSOLE_DIST}/assets`,
        prefix: '/console/assets/',
      })
    for (const url of ['/console', '/console/', '/console/operator']) app.get(url, { schema: { hide: true } }, page)

    app.get('/console/demo-token', { schema: { hide: true } }, async (_request, reply) =>
      options.demoToken
        ? { available: true }
        : reply.code(404).send({ error: 'not_found', message: 'development only' }),
    )
    app.post('/console/demo-token', { schema: { hide: true } }, async (request, reply) => {
      if (!options.demoToken) return reply.code(404).send({ error: 'not_found', message: 'development only' })
      if (!fromThisOrigin(request))
        return reply.code(403).send({ error: 'forbidden', message: 'the demo sign-in must come from the console' })
      reply.header('cache-control', 'no-store')
      return { token: await options.demoToken() }
    })
  }
}
