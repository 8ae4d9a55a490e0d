import { lookup as dnsLookup } from 'node:dns'
import webPush from 'web-push'
import { messageOf } from '../../platform/errors/error-message.js'
import type { PushContent } from '../messages.js'
import { ChannelError } from './channel-error.js'
import { endpointProblem, type Lookup, PrivateAddressError, PublicAddressAgent } from './push-endpoint.js'

export interface PushTarget {
  endpoint: string
  keys: { p256dh: string; auth: string }
}

export interface PushChannel {
  publicKey: string
  send(target: PushTarget, content: PushContent): Promise<void>
  close(): void
}

export interface PushChannelOptions {
  /** PUSH_ALLOW_PRIVATE_ENDPOINTS: pushes may go to loopback and private addresses (tests only). */
  allowPrivate: boolean
  /** Certificates to trust besides the system's (a test's local push service). */
  ca?: string | Buffer
  /** How host names are resolved (default: the system's); each address is checked before connecting. */
  lookup?: Lookup
}

/** A push service's answer, or the lack of one, in words a traveller may read. */
function classify(error: unknown): ChannelError {
  const status = (error as { statusCode?: number }).statusCode
  const detail = `${status ?? (error as { code?: string }).code ?? ''} ${messageOf(error) ?? ''}`.trim().slice(0, 500)
  if (error instanceof ChannelError) return error
  if (error instanceof PrivateAddressError) {
    return new ChannelError('push endpoint is not a public address', true, false, detail)
  }
  if (status === undefined) return new ChannelError('push service unreachable', false, false, detail)
  if (status === 404 || status === 410)
    return new ChannelError('push service says the subscription is gone', true, true, detail)
  if (status === 429) return new ChannelError('push service asked to slow down', false, false, detail)
  if (status >= 500) return new ChannelError('push service failed', false, false, detail)
  // Redirects are not followed: a push service answers where it was asked.
  if (status >= 300 && status < 400)
    return new ChannelError('push service answered with a redirect', true, false, detail)
  if (status === 413) return new ChannelError('push message too large for the push service', true, false, detail)
  return new ChannelError('push service refused the subscription', true, false, detail)
}

/**
 * Web Push (the web-push package: VAPID signature, aes128gcm encryption), only to push services on
 * the public internet: the endpoint is checked again before each send (it may have been stored
 * before the check existed), and the connection goes only to an address checked when it is made.
 */
/** The server's key pair for Web Push (VAPID); a development one is kept under PAM_HOME. */
export interface VapidKeys {
  publicKey: string
  privateKey: string
}

export function createPushChannel(vapid: VapidKeys, subject: string, options: PushChannelOptions): PushChannel {
  const agent = new PublicAddressAgent(
    { keepAlive: true, ...(options.ca ? { ca: options.ca } : {}) },
    { allowPrivate: options.allowPrivate, lookup: options.lookup ?? dnsLookup },
  )
  return {
    publicKey: vapid.publicKey,
    async send(target, content) {
      try {
        const problem = endpointProblem(target.endpoint, options.allowPrivate)
        if (problem) throw new ChannelError('push endpoint is not a public address', true, false, problem)
        await webPush.sendNotification(target, content.payload, {
          vapidDetails: { subject, publicKey: vapid.publicKey, privateKey: vapid.privateKey },
          contentEncoding: 'aes128gcm',
          TTL: content.ttlSeconds,
          urgency: content.urgency,
          topic: content.topic,
          timeout: 15_000,
          agent,
        })
      } catch (error) {
        throw classify(error)
      }
    },
    close: () => agent.destroy(),
  }
}
