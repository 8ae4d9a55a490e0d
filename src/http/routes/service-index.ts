import negotiate from '@fastify/accept-negotiator'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import Type, { type Static } from 'typebox'
import { VERSION } from '../../platform/version.js'

/**
 * Where a person's browser lands from `/` or `/v1`: the API docs now; the console once PAM serves
 * one (change it here, and only here).
 */
export const BROWSER_HOME = '/docs'

const Link = (description: string) => Type.String({ description })

const Index = Type.Object({
  service: Type.String(),
  version: Type.String(),
  description: Type.String(),
  links: Type.Object(
    {
      api: Link('the traveller API (Bearer token)'),
      docs: Link('the API explorer (Swagger UI)'),
      openapi: Link('the OpenAPI 3.1 document'),
      console: Link('the web console'),
      health: Link('liveness: the process answers'),
      ready: Link('readiness: database, Redis and workers'),
      stream: Link('live alerts (WebSocket, Bearer token)'),
    },
    { description: 'paths on this server, so they hold behind any proxy or host name' },
  ),
})

const body = {
  service: 'pam-api',
  version: VERSION,
  description:
    'PAM: proactive alerts for travellers in RVs and campervans. /v1 needs a Bearer token; /docs lists every path.',
  links: {
    api: '/v1',
    docs: '/docs',
    openapi: '/docs/json',
    console: '/console',
    health: '/health',
    ready: '/ready',
    stream: '/v1/stream',
  },
} satisfies Static<typeof Index>

/**
 * `GET /` and `GET /v1`: an index. A program (curl, a client asking for JSON) gets the links; a
 * browser (which asks for text/html before anything else) is sent to BROWSER_HOME. Public, like
 * /health: it names nothing a token would protect.
 */
export async function serviceIndexRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  for (const url of ['/', '/v1']) {
    app.get(
      url,
      {
        schema: {
          tags: ['operations'],
          summary: 'index: the service, its version and where to go; a browser is redirected to the docs',
          response: {
            200: Index,
            302: Type.Null({ description: `a browser (Accept: text/html): to ${BROWSER_HOME}` }),
          },
        },
      },
      async (request, reply) => {
        if (negotiate(request.headers.accept ?? '', ['application/json', 'text/html']) === 'text/html') {
          return reply.redirect(BROWSER_HOME, 302)
        }
        return body
      },
    )
  }
}
