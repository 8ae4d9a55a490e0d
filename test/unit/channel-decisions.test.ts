import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decideChannels, type TravellerDelivery } from '../../src/delivery/channel-decisions.js'
import type { AlertForDelivery } from '../../src/delivery/delivery-decision.js'
import { hourlyEmailCap } from '../../src/delivery/email-caps.js'
import { DEFAULT_NOTIFICATION_SETTINGS } from '../../src/delivery/notification-settings.js'

const NOW = new Date('2026-12-06T12:00:00Z')
const ALERT: AlertForDelivery & { userId: string } = {
  userId: 'u1',
  kind: 'budget_threshold',
  priority: 'high',
  readAt: null,
  dismissedAt: null,
  resolvedAt: null,
  expiresAt: null,
  snoozedUntil: null,
}
const BOTH = { email: true, push: true }
const traveller = (change: Partial<TravellerDelivery> = {}): TravellerDelivery => ({
  settings: {
    ...DEFAULT_NOTIFICATION_SETTINGS,
    email: { address: 'a@example.org', verified: true, enabled: true, minPriority: 'medium' },
  },
  profileZone: 'UTC',
  position: undefined,
  pushSubscribed: true,
  emailSends: { traveller: [], address: [] },
  ...change,
})
const decide = (who: TravellerDelivery, configured = BOTH, alert = ALERT, cap = 10) =>
  decideChannels(alert, who, configured, hourlyEmailCap(cap, NOW), NOW)

describe('the decision on each channel, as a delivery job and the state route make it', () => {
  it('sends on both when the traveller can be reached and nothing holds it', () => {
    assert.deepEqual(decide(traveller()), { email: { action: 'send' }, push: { action: 'send' } })
  })

  it('names why a channel cannot reach the traveller', () => {
    assert.deepEqual(decide(traveller(), { email: false, push: false }), {
      email: { action: 'suppress', reason: 'channel not configured' },
      push: { action: 'suppress', reason: 'channel not configured' },
    })
    const unconfirmed = traveller({
      settings: { ...traveller().settings, email: { ...traveller().settings.email, verified: false } },
      pushSubscribed: false,
    })
    assert.deepEqual(decide(unconfirmed), {
      email: { action: 'suppress', reason: 'address not confirmed' },
      push: { action: 'suppress', reason: 'no subscription' },
    })
    const noAddress = traveller({
      settings: { ...traveller().settings, email: { ...traveller().settings.email, address: null } },
    })
    assert.deepEqual(decide(noAddress).email, { action: 'suppress', reason: 'no address' })
  })

  it('puts the minimum priority before reachability, and quiet hours after it, until their end', () => {
    assert.deepEqual(decide(traveller({ pushSubscribed: false }), BOTH, { ...ALERT, priority: 'low' }).push, {
      action: 'suppress',
      reason: 'below minimum priority',
    })
    const quiet = traveller({ settings: { ...traveller().settings, quietHours: { start: '11:00', end: '13:30' } } })
    assert.deepEqual(decide(quiet), {
      email: { action: 'defer', reason: 'quiet hours', until: new Date('2026-12-06T13:30:00Z') },
      push: { action: 'defer', reason: 'quiet hours', until: new Date('2026-12-06T13:30:00Z') },
    })
  })

  it('holds email, not push, past the hourly cap: until the oldest of the hour leaves it', () => {
    const sent = [new Date('2026-12-06T11:20:00Z'), new Date('2026-12-06T11:40:00Z')]
    const capped = decide(traveller({ emailSends: { traveller: sent, address: [] } }), BOTH, ALERT, 2)
    assert.deepEqual(capped, {
      email: { action: 'defer', reason: 'hourly email limit', until: new Date('2026-12-06T12:20:00Z') },
      push: { action: 'send' },
    })
  })
})
