import { aiCaps, aiPrices, type Config } from '../config.js'
import type { Db } from '../db/database.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics/metrics.js'
import { Breakers } from './breaker.js'
import { configuredTiers } from './models.js'
import { createTextGenerator, type TextGenerator } from './text-generator.js'

/** The text generator as this deployment's configuration describes it (built once per worker). */
export function buildTextGenerator(config: Config, deps: { db: Db; logger: Logger; metrics: Metrics }): TextGenerator {
  return createTextGenerator({
    ...deps,
    tiers: configuredTiers(config),
    prices: aiPrices(config),
    caps: aiCaps(config),
    breakers: new Breakers(),
    timeoutMs: config.AI_TIMEOUT_MS,
  })
}
