import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { VERSION } from '../../platform/version.js'

/**
 * The OpenAPI 3.1 document, built from the same TypeBox schemas that validate and serialize.
 * Registered first in its scope so it sees every route, the sibling scopes' too.
 */
export async function registerOpenApi(app: FastifyInstance) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'PAM — proactive assistant API',
        version: VERSION,
        description:
          'Every /v1 request needs `Authorization: Bearer <JWT>` (Supabase user tokens work as they are). ' +
          'Errors: `{error, message, details?}`. Lists: `{items, nextCursor}`, newest first. ' +
          'POSTs take an `Idempotency-Key` header.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'a user token (Supabase)' },
          internalToken: { type: 'http', scheme: 'bearer', description: 'INTERNAL_TOKEN, for operators' },
        },
      },
    },
  })
}

/** The Swagger UI at /docs and the document at /docs/json: pages, with a page's security headers. */
export async function registerDocsPages(app: FastifyInstance) {
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
}
