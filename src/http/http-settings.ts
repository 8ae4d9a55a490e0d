import { type Config, EnvSchema } from '../config.js'

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
}

type HttpConfig = Pick<
  Config,
  'TRUST_PROXY' | 'REQUEST_TIMEOUT_MS' | 'CONNECTION_TIMEOUT_MS' | 'STREAM_MAX_SOCKETS_PER_USER'
>

export const httpSettings = (config: HttpConfig): HttpSettings => ({
  trustProxyHops: config.TRUST_PROXY,
  requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
  connectionTimeoutMs: config.CONNECTION_TIMEOUT_MS,
  streamSocketsPerUser: config.STREAM_MAX_SOCKETS_PER_USER,
})

const defaultOf = (name: keyof HttpConfig) => (EnvSchema.properties[name] as unknown as { default: number }).default

/** The schema's defaults, for an app built without settings. */
export const DEFAULT_HTTP_SETTINGS = httpSettings({
  TRUST_PROXY: defaultOf('TRUST_PROXY'),
  REQUEST_TIMEOUT_MS: defaultOf('REQUEST_TIMEOUT_MS'),
  CONNECTION_TIMEOUT_MS: defaultOf('CONNECTION_TIMEOUT_MS'),
  STREAM_MAX_SOCKETS_PER_USER: defaultOf('STREAM_MAX_SOCKETS_PER_USER'),
})
