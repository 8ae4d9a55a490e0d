import { listenOrExplain } from '../../http/listen.js'
import { buildMetricsApp } from '../../http/metrics-app.js'
import { sharedHitCounter } from '../../platform/cache/hit-counter.js'
import type { Deps } from '../composition/deps.js'
import type { RunningRole } from './role.js'

type StartRole = (deps: Deps, signal: AbortSignal) => Promise<RunningRole>

/**
 * A role that does not serve HTTP still has counters worth scraping: with METRICS_PORT set it
 * serves /metrics and /health there. It listens before the role starts (as the API does), so a
 * container health check sees a live process while the role waits for its database, and it
 * stops serving after the role has stopped.
 */
export function withMetricsEndpoint(service: string, start: StartRole): StartRole {
  return async (deps, signal) => {
    const port = deps.config.METRICS_PORT
    if (port === undefined) return start(deps, signal)
    const app = await buildMetricsApp({
      service,
      metrics: deps.metrics,
      errors: deps.errors,
      internalToken: deps.secrets.internalToken,
      hits: sharedHitCounter({ db: deps.db, redis: deps.backend.redis, prefix: deps.config.REDIS_PREFIX }),
      logger: deps.logger,
    })
    await listenOrExplain(app, deps.config.HOST, port, 'METRICS_PORT')
    const running = await start(deps, signal).catch(async (error) => {
      await app.close()
      throw error
    })
    return {
      async stop() {
        await running.stop()
        await app.close()
      },
    }
  }
}
