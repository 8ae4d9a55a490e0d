import type { Deps } from '../deps.js'
import { listenOrExplain } from '../http/listen.js'
import { buildMetricsApp } from '../http/metrics-app.js'
import type { RunningRole } from './role.js'

type StartRole = (deps: Deps, signal: AbortSignal) => Promise<RunningRole>

/**
 * A role that does not serve HTTP still has counters worth scraping: with METRICS_PORT set it
 * serves /metrics and /health there, and stops serving before the role itself stops.
 */
export function withMetricsEndpoint(service: string, start: StartRole): StartRole {
  return async (deps, signal) => {
    const running = await start(deps, signal)
    const port = deps.config.METRICS_PORT
    if (port === undefined) return running
    const app = await buildMetricsApp({
      service,
      metrics: deps.metrics,
      internalToken: deps.secrets.internalToken,
      logger: deps.logger,
    })
    await listenOrExplain(app, deps.config.HOST, port, 'METRICS_PORT').catch(async (error) => {
      await running.stop()
      throw error
    })
    return {
      async stop() {
        await app.close()
        await running.stop()
      },
    }
  }
}
