import { type Config, EnvSchema } from '../platform/config.js'

/** How the HTTP server treats its clients: which address is theirs, how long they may take, how many streams. */
export interface HttpSettings {
  /** Proxy hops whose X-Forwarded-For is trusted (0: the connecting address is the client's). */
  trustProxyHops: number
  /** A request must arrive whole within this (a body trickled in byte by byte is cut off). */
  requestTimeoutMs: number
  /** A silent connection is closed after this. */
  connectionTimeoutMs: number
  /** Alert streams one user may hold per API process. */
  streamSocketsPerUser: number
  /** Connections one client address may hold open at once (0: no cap; none behind a proxy). */
  connectionsPerAddress: number
}

type HttpConfig = Pick<
  Config,
  | 'TRUST_PROXY'
  | 'REQUEST_TIMEOUT_MS'
  | 'CONNECTION_TIMEOUT_MS'
  | 'STREAM_MAX_SOCKETS_PER_USER'
  | 'MAX_CONNECTIONS_PER_ADDRESS'
>

export const httpSettings = (config: HttpConfig): HttpSettings => ({
  trustProxyHops: config.TRUST_PROXY,
  requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
  connectionTimeoutMs: config.CONNECTION_TIMEOUT_MS,
  streamSocketsPerUser: config.STREAM_MAX_SOCKETS_PER_USER,
  // Behind a proxy every connection comes from the proxy, which holds (and caps) the clients' own.
  connectionsPerAddress: config.TRUST_PROXY === 0 ? config.MAX_CONNECTIONS_PER_ADDRESS : 0,
})

const defaultOf = (name: keyof HttpConfig) => (EnvSchema.properties[name] as unknown as { default: number }).default

/** The schema's defaults, for an app built without settings. */
export const DEFAULT_HTTP_SETTINGS = httpSettings({
  TRUST_PROXY: defaultOf('TRUST_PROXY'),
  REQUEST_TIMEOUT_MS: defaultOf('REQUEST_TIMEOUT_MS'),
  CONNECTION_TIMEOUT_MS: defaultOf('CONNECTION_TIMEOUT_MS'),
  STREAM_MAX_SOCKETS_PER_USER: defaultOf('STREAM_MAX_SOCKETS_PER_USER'),
  MAX_CONNECTIONS_PER_ADDRESS: defaultOf('MAX_CONNECTIONS_PER_ADDRESS'),
})
