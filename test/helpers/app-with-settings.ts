import type { FastifyInstance } from 'fastify'
import { buildApiApp } from '../../src/app/roles/api.js'
import type { Producer } from '../../src/jobs/producer.js'
import type { Logger } from '../../src/platform/logger.js'
import type { Harness } from './harness.js'

/**
 * The app as src/app/roles/api.ts builds it from the harness's configuration (TRUST_PROXY, the timeouts,
 * STREAM_MAX_SOCKETS_PER_USER), optionally with a logger to read.
 */
export function buildAppWithSettings(
  harness: Harness,
  producer: Producer,
  options: { logger?: Logger } = {},
): Promise<FastifyInstance> {
  return buildApiApp(options.logger ? { ...harness.deps, logger: options.logger } : harness.deps, producer)
}
