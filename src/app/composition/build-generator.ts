import { Breakers } from '../../ai/breaker.js'
import { configuredTiers } from '../../ai/models.js'
import { createTextGenerator, type TextGenerator } from '../../ai/text-generator.js'
import { aiCaps, aiPrices, type Config } from '../../platform/config.js'
import type { Db } from '../../platform/db/database.js'
import type { Logger } from '../../platform/logger.js'
import type { Metrics } from '../../platform/metrics.js'

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
