import type { AlertPriority } from '../platform/db/schema.js'

/** A local wall-clock time 'HH:MM' (24 h) in the traveller's timezone. */
export type LocalTime = string

/** How a traveller wants to be reached; GET/PUT /v1/me/notification-settings has this shape. */
export interface NotificationSettings {
  /** `verified`: the address's owner followed the link PAM sent it; alert emails go only then. */
  email: { address: string | null; verified: boolean; enabled: boolean; minPriority: AlertPriority }
  push: { enabled: boolean; minPriority: AlertPriority }
  /** Nothing but urgent goes out between start and end; the rest waits for one digest at end. */
  quietHours: { start: LocalTime; end: LocalTime } | null
  /** A daily summary of what is open, at this local time. */
  digest: { enabled: boolean; at: LocalTime }
  /** The AI layer's opt-out: off means templates only, nothing of theirs sent to a model. */
  ai: { enabled: boolean }
}

/** What a traveller who never changed anything gets (push from medium, email from high: docs/alerts.md). */
export const DEFAULT_NOTIFICATION_SETTINGS: NotificationSettings = Object.freeze({
  email: Object.freeze({ address: null, verified: false, enabled: true, minPriority: 'high' as const }),
  push: Object.freeze({ enabled: true, minPriority: 'medium' as const }),
  quietHours: null,
  digest: Object.freeze({ enabled: false, at: '08:00' }),
  ai: Object.freeze({ enabled: true }),
})

/** What a traveller sets: everything but whether the address is confirmed, which only its link changes. */
export type NotificationSettingsInput = Omit<NotificationSettings, 'email'> & {
  email: Omit<NotificationSettings['email'], 'verified'>
}
