import Type from 'typebox'

/** The HTTP edge: client addresses behind proxies, how long a client may take, how many streams. */
export const HttpEdgeFields = {
  TRUST_PROXY: Type.Integer({
    minimum: 0,
    maximum: 10,
    default: 0,
    description:
      'proxy hops in front of the API whose X-Forwarded-For is trusted for the client address (rate limits, logs): 1 behind Fly or Render; 0: the connecting address',
  }),
  REQUEST_TIMEOUT_MS: Type.Integer({
    minimum: 1000,
    maximum: 600_000,
    default: 30_000,
    description: 'a request (headers and body) must arrive whole within this, or it is answered 408 and cut off',
  }),
  CONNECTION_TIMEOUT_MS: Type.Integer({
    minimum: 1000,
    maximum: 3_600_000,
    default: 120_000,
    description: 'a connection silent this long is closed (WebSockets are pinged instead)',
  }),
  MAX_CONNECTIONS_PER_ADDRESS: Type.Integer({
    minimum: 1,
    maximum: 100_000,
    default: 256,
    description:
      'connections one client address may hold open to the API at once; the next is answered 429 and closed (not applied behind a proxy, TRUST_PROXY > 0: the proxy holds them)',
  }),
  STREAM_MAX_SOCKETS_PER_USER: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 10,
    description: 'alert streams (/v1/stream) one user may hold per API process; the next is closed with 4008',
  }),
}
