import type { Agent } from 'node:https'
import webPush from 'web-push'
import type { PushContent } from '../delivery/messages.js'
import type { VapidKeys } from '../local/dev-secrets.js'
import { ChannelError } from './channel-error.js'

export interface PushTarget {
  endpoint: string
  keys: { p256dh: string; auth: string }
}

export interface PushChannel {
  publicKey: string
  send(target: PushTarget, content: PushContent): Promise<void>
}

/**
 * Web Push (the web-push package: VAPID signature, aes128gcm encryption). `agent` lets tests
 * trust their local push service's certificate.
 */
export function createPushChannel(vapid: VapidKeys, subject: string, agent?: Agent): PushChannel {
  return {
    publicKey: vapid.publicKey,
    async send(target, content) {
      try {
        await webPush.sendNotification(target, content.payload, {
          vapidDetails: { subject, publicKey: vapid.publicKey, privateKey: vapid.privateKey },
          contentEncoding: 'aes128gcm',
          TTL: content.ttlSeconds,
          urgency: content.urgency,
          topic: content.topic,
          timeout: 15_000,
          ...(agent ? { agent } : {}),
        })
      } catch (error) {
        const status = (error as { statusCode?: number }).statusCode
        if (status === 404 || status === 410) throw new ChannelError(`push: ${status} subscription gone`, true, true)
        // 429 and 5xx pass; another 4xx (a payload too large, a bad VAPID key) will not.
        const permanent = status !== undefined && status >= 400 && status < 500 && status !== 429
        throw new ChannelError(`push: ${status ?? (error as Error).message}`.slice(0, 500), permanent)
      }
    },
  }
}
