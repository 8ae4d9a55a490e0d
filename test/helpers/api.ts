import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { SignJWT } from 'jose'
import { buildApiApp } from '../../src/app/roles/api.js'
import { createProducer, type Producer } from '../../src/jobs/producer.js'
import { type Harness, type Mode, startHarness, TEST_JWT_SECRET } from './harness.js'

export interface ApiHarness {
  harness: Harness
  app: FastifyInstance
  close(): Promise<void>
}

/** A harness with the HTTP app built on it (injected requests, no port). */
export async function startApiHarness(mode: Mode, extra: Record<string, string> = {}): Promise<ApiHarness> {
  const harness = await startHarness(mode, extra)
  const producer: Producer = createProducer(harness.deps.backend, harness.deps.logger)
  const app = await buildApiApp(harness.deps, producer)
  return {
    harness,
    app,
    async close() {
      await app.close()
      await producer.close()
      await harness.close()
    },
  }
}

/** A user token as Supabase issues it (HS256, aud authenticated); claims and header overridable. */
export async function userToken(
  userId: string = randomUUID(),
  options: { claims?: Record<string, unknown>; ttl?: string; secret?: string; omit?: string[] } = {},
): Promise<string> {
  const claims: Record<string, unknown> = {
    sub: userId,
    aud: 'authenticated',
    role: 'authenticated',
    ...options.claims,
  }
  for (const name of options.omit ?? []) delete claims[name]
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt()
  if (!options.omit?.includes('exp') && claims.exp === undefined) jwt.setExpirationTime(options.ttl ?? '1h')
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET))
}

// biome-ignore lint/suspicious/noExplicitAny: tests read JSON bodies field by field and assert on them
export interface Response<T = any> {
  status: number
  body: T
  headers: Record<string, string | string[] | number | undefined>
}

/** A client acting as one user: `call('POST', '/v1/vehicles', body)`. */
export function client(app: FastifyInstance, token: string | undefined) {
  // biome-ignore lint/suspicious/noExplicitAny: as above
  return async function call<T = any>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response<T>> {
    const response = await app.inject({
      method,
      url,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      ...(payload === undefined ? {} : { payload: payload as object }),
    })
    return {
      status: response.statusCode,
      body: response.body ? (JSON.parse(response.body) as T) : (undefined as T),
      headers: response.headers,
    }
  }
}

export type Client = ReturnType<typeof client>

export const VEHICLE = { name: 'Campervan', fuelCapacityL: 80, consumptionLPer100Km: 12.5, odometerKm: 52_000 }

/** Listens on a free loopback port; returns `127.0.0.1:<port>`. */
export async function listenLocally(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (!address || typeof address === 'string') throw new Error('the app is not listening on a port')
  return `127.0.0.1:${address.port}`
}
