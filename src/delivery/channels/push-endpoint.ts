import type { lookup as dnsLookup, LookupAddress } from 'node:dns'
import { Agent, type AgentOptions, type RequestOptions } from 'node:https'
import { BlockList, isIP } from 'node:net'
import type { Duplex } from 'node:stream'

/**
 * Where PAM may POST a push (with its VAPID signature): a push service on the public internet.
 * Everything else is refused: it would let a traveller make PAM's workers call into their network.
 */
const NOT_PUBLIC = new BlockList()
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT (and some clouds' metadata, 100.100.100.200)
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv4')
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['::', 96], // IPv4-compatible
  ['::ffff:0:0', 96], // IPv4-mapped: ::ffff:127.0.0.1
  ['64:ff9b::', 96], // NAT64: an IPv4 address inside
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23], // Teredo and other protocol assignments
  ['2001:db8::', 32],
  ['2002::', 16], // 6to4: an IPv4 address inside
  ['fc00::', 7], // unique local (fd00:ec2::254: a cloud's metadata)
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8], // multicast
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv6')
}

export const isPublicAddress = (address: string) => {
  const family = isIP(address)
  return family !== 0 && !NOT_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6')
}

// Names that never lead to the public internet (RFC 6761, RFC 8375, and cloud-internal zones).
const PRIVATE_NAMES = /(^|\.)(localhost|local|internal|invalid|arpa|home\.arpa)\.?$/i
// A name with a dot and a top-level label of letters: a single label resolves through search domains.
const PUBLIC_NAME = /^([a-z0-9-]+\.)+[a-z][a-z0-9-]*[a-z0-9]\.?$/i

/**
 * What is wrong with a push endpoint, judged from its text alone, or undefined. `allowPrivate`
 * (PUSH_ALLOW_PRIVATE_ENDPOINTS, refused in production) lets tests push to a service on loopback.
 */
export function endpointProblem(endpoint: string, allowPrivate: boolean): string | undefined {
  if (!URL.canParse(endpoint)) return 'is not a URL'
  const url = new URL(endpoint)
  if (url.protocol !== 'https:') return 'must be an https:// URL'
  if (url.username || url.password) return 'must not carry a user name or password'
  if (allowPrivate) return undefined
  if (url.port !== '') return 'must use the HTTPS port (443): push services do'
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (isIP(host)) return 'must name the push service by its host name, not an address'
  if (PRIVATE_NAMES.test(host) || !PUBLIC_NAME.test(host)) return 'must be a push service on the public internet'
  return undefined
}

export type Lookup = typeof dnsLookup

/** The endpoint's host resolves to an address that is not public (a name that changed since it was checked). */
export class PrivateAddressError extends Error {
  constructor(host: string) {
    super(`${host} resolves to an address that is not public`)
    this.name = 'PrivateAddressError'
  }
}

/** The addresses `host` resolves to, refused when any is not public (unless `allowPrivate`). */
export function resolvePublic(host: string, lookup: Lookup, allowPrivate: boolean): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    lookup(host, { all: true }, (error, addresses) => {
      if (error) return reject(error)
      const list = addresses as LookupAddress[]
      if (list.length === 0) return reject(Object.assign(new Error(`${host} has no address`), { code: 'ENOTFOUND' }))
      if (!allowPrivate && list.some((entry) => !isPublicAddress(entry.address))) {
        return reject(new PrivateAddressError(host))
      }
      resolve(list)
    })
  })
}

/**
 * An HTTPS agent that connects only to public addresses: the name is resolved here, every
 * address checked, and the connection made to the checked address (with the name for TLS), so
 * DNS answering differently between the check and the connection (rebinding) changes nothing.
 */
export class PublicAddressAgent extends Agent {
  constructor(
    options: AgentOptions,
    private readonly guard: { allowPrivate: boolean; lookup: Lookup },
  ) {
    super(options)
  }

  override createConnection(
    options: RequestOptions,
    callback?: (error: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const connect = (to: RequestOptions) => super.createConnection(to) as Duplex
    const host = String(options.host ?? '')
    const refuse = (error: Error) => callback?.(error, undefined as unknown as Duplex)
    if (isIP(host)) {
      if (this.guard.allowPrivate || isPublicAddress(host)) return connect(options)
      refuse(new PrivateAddressError(host))
      return undefined
    }
    resolvePublic(host, this.guard.lookup, this.guard.allowPrivate).then(
      ([first]) => callback?.(null, connect({ ...options, host: first?.address, servername: host })),
      refuse,
    )
    return undefined
  }
}
