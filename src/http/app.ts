import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { QueueBackend } from '../backend/backend.js'
import type { Db } from '../db/database.js'
import type { Logger } from '../logger.js'
import { registerErrorHandler } from './plugins/error-handler.js'
import { healthRoutes } from './routes/health.js'

export interface AppDeps {
  db: Db
  backend: QueueBackend
  logger: Logger
  internalToken: string
}

/** Builds the HTTP app from its dependencies; listening is the caller's business (roles/api.ts). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: (request) => {
      const given = request.headers['x-request-id']
      return typeof given === 'string' && /^[\w.-]{1,100}$/.test(given) ? given : randomUUID()
    },
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    // Unknown fields are rejected (with their name), not silently dropped; every problem is reported.
    ajv: {
      customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array', useDefaults: true },
    },
  })
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  registerErrorHandler(app)
  await app.register(healthRoutes(deps))
  return app
}
