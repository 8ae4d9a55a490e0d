import cors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'

// Browser apps on a developer's machine (Vite, CRA, Next dev servers) when no allowlist is set.
const LOCAL_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/

/**
 * Which origins a browser may call from: the CORS_ORIGINS allowlist; unset, local dev servers in
 * development and no one elsewhere. Config refuses "*" in production; tokens travel in a header,
 * never cookies, so credentials are never allowed.
 */
export function allowedOrigins(origins: readonly string[] | undefined, development: boolean) {
  if (origins && origins.length > 0) return origins.includes('*') ? '*' : [...origins]
  return development ? [LOCAL_ORIGIN] : false
}

export async function registerCrossOrigin(app: FastifyInstance, origin: ReturnType<typeof allowedOrigins>) {
  // The methods a preflight allows are the routes' own, gathered as they are registered (after
  // this: @fastify/cors reads the list at each preflight), so a new method (PUT) is never left out.
  const methods: string[] = []
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD' && method !== 'OPTIONS' && !methods.includes(method)) methods.push(method)
    }
  })
  await app.register(cors, {
    origin,
    credentials: false,
    methods,
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id'],
    // One string: @fastify/cors joins a list again for every response.
    exposedHeaders: [
      'Retry-After',
      'X-RateLimit-Limit',
      'X-RateLimit-Remaining',
      'X-RateLimit-Reset',
      'Idempotent-Replayed',
      'X-Request-Id',
    ].join(', '),
    maxAge: 600,
    // An OPTIONS without Origin is no preflight: answered like any other, not with a text/plain 400.
    strictPreflight: false,
  })
}
