import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../http/app.js'
import { httpSettings } from '../../http/http-settings.js'
import { listenOrExplain } from '../../http/listen.js'
import { catchUpFromStore } from '../../http/stream/catch-up.js'
import { createHub, feedHubFromBus, STREAM_LIMITS } from '../../http/stream/hub.js'
import { createProducer, type Producer } from '../../jobs/producer.js'
import { changedVersions, currentEvents } from '../../monitoring/alerts/alert-changes.js'
import { apiServices } from '../composition/api-services.js'
import type { Deps } from '../composition/deps.js'
import type { RunningRole } from './role.js'
import { isSchemaCurrent, StartupRefusal, waitForStore } from './wait-for-store.js'

/**
 * The HTTP app with its dependencies taken from the composition root, and this process's hub of
 * live sockets, fed every alert change from the bus, caught up from PostgreSQL with what the bus
 * lost, and closed before the server (so closing does not wait on open sockets).
 */
export async function buildApiApp(
  deps: Deps,
  producer: Producer,
  storeReady?: () => boolean,
): Promise<FastifyInstance> {
  const http = httpSettings(deps.config)
  const hub = createHub({ logger: deps.logger, maxSocketsPerUser: http.streamSocketsPerUser, ...STREAM_LIMITS })
  const catchUp = catchUpFromStore(
    hub,
    {
      changedVersions: (userIds, from) => changedVersions(deps.db, userIds, from),
      currentEvents: (ids, from) => currentEvents(deps.db, ids, from),
    },
    deps.logger,
  )
  const stopFeeding = feedHubFromBus(hub, deps.backend.bus, deps.logger, catchUp.now)
  const stopHub = async () => {
    hub.close()
    await stopFeeding()
    await catchUp.stop()
  }
  const app = await buildApp(apiServices(deps, producer, hub, http, storeReady)).catch(async (error) => {
    await stopHub()
    throw error
  })
  app.addHook('preClose', stopHub)
  return app
}

/**
 * Listens first, then waits for the database in the background: until it answers, /health
 * says alive, /ready says why it is not ready, and a request that meets the schema before its
 * migration is answered 503.
 */
export async function startApi(deps: Deps, signal: AbortSignal): Promise<RunningRole> {
  const producer = createProducer(deps.backend, deps.logger)
  const app = await buildApiApp(deps, producer, () => isSchemaCurrent(deps))
  await listenOrExplain(app, deps.config.HOST, deps.config.PORT, 'PORT').catch(async (error) => {
    await producer.close()
    throw error
  })
  // Unready until the store answers; a refusal is left unhandled, which ends the role (run.ts).
  waitForStore(deps, signal).catch((error) => {
    if (error instanceof StartupRefusal) throw error
  })
  return {
    async stop() {
      await app.close()
      await producer.close()
    },
  }
}
