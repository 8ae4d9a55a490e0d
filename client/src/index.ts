import createClient, { type Client, type ClientOptions } from 'openapi-fetch'
import type { paths } from './openapi.js'

export type { components, operations, paths } from './openapi.js'
export type { Alert } from './types.js'
export {
  type StreamEvent,
  type TokenSource,
  type Watch,
  type WatchEnd,
  type WatchOptions,
  type WatchStatus,
  watch,
} from './watch.js'

export type PamClient = Client<paths>

/**
 * A typed client of PAM's HTTP API (openapi-fetch): `await pam.GET('/v1/alerts', { params: { query: { status: 'open' } } })`.
 * `token` is sent as the bearer token of every request; a function is asked again for each one.
 */
export function createPamClient(
  options: { baseUrl: string; token?: string | (() => string | Promise<string>) } & Omit<ClientOptions, 'baseUrl'>,
): PamClient {
  const { token, ...rest } = options
  const client = createClient<paths>(rest)
  if (token !== undefined)
    client.use({
      async onRequest({ request }) {
        request.headers.set('authorization', `Bearer ${typeof token === 'string' ? token : await token()}`)
        return request
      },
    })
  return client
}
