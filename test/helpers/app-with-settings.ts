import type { FastifyInstance } from 'fastify'
import type { Producer } from '../../src/jobs/producer.js'
import type { Logger } from '../../src/logger.js'
import { buildApiApp } from '../../src/roles/api.js'
import type { Harness } from './harness.js'

/**
 * The app as roles/api.ts builds it from the harness's configuration (TRUST_PROXY, the timeouts,
 * STREAM_MAX_SOCKETS_PER_USER), optionally with a logger to read.
 */
export function buildAppWithSettings(
  harness: Harness,
  producer: Producer,
  options: { logger?: Logger } = {},
): Promise<FastifyInstance> {
  return buildApiApp(options.logger ? { ...harness.deps, logger: options.logger } : harness.deps, producer)
}
