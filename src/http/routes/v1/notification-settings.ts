import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { notificationSettingsOf, saveNotificationSettings } from '../../../delivery/notification-settings-repository.js'
import type { Db } from '../../../platform/db/database.js'
import { messageOf } from '../../../platform/errors/error-message.js'
import { v1Schema } from '../../schemas.js'
import { refuseIfAny } from './crud.js'
import { Body, Nullable } from './fields.js'

const Priority = Type.Enum(['low', 'medium', 'high', 'urgent'])
const LocalTime = (description: string) =>
  Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: `${description}: local time HH:MM (24 h)` })

const Address = Nullable(
  Type.String({
    format: 'email',
    maxLength: 254,
    description: 'where alerts are emailed, once its owner confirmed it (a new address is sent a link)',
  }),
)
const Verified = Type.Boolean({
  readOnly: true,
  description:
    'read-only: the owner of the address followed the link PAM sent it; alert emails go only then. Ignored in a PUT',
})

const settingsShape = <E extends Parameters<typeof Body>[0]>(email: E) =>
  Body({
    email: Body(email),
    push: Body({ enabled: Type.Boolean(), minPriority: Priority }),
    quietHours: Nullable(
      Body({
        start: LocalTime('quiet from'),
        end: LocalTime('quiet until; the deferred alerts go out then, as one digest'),
      }),
    ),
    digest: Body({ enabled: Type.Boolean(), at: LocalTime('a daily summary of open alerts at') }),
    ai: Body({ enabled: Type.Boolean({ description: 'off: no data of yours is sent to an AI model' }) }),
  })

const Settings = settingsShape({ address: Address, verified: Verified, enabled: Type.Boolean(), minPriority: Priority })
// What GET gave can be PUT back as it is: `verified` is taken and ignored.
const SettingsInput = settingsShape({
  address: Address,
  verified: Type.Optional(Verified),
  enabled: Type.Boolean(),
  minPriority: Priority,
})

export interface NotificationSettingsRouteDeps {
  db: Db
  /** Queues the email that asks the address's owner to confirm it. */
  queueConfirmation(userId: string): Promise<void>
}

export const notificationSettingsRoutes: FastifyPluginAsyncTypebox<NotificationSettingsRouteDeps> = async (
  app,
  { db, queueConfirmation },
) => {
  app.get(
    '/v1/me/notification-settings',
    {
      schema: v1Schema({
        summary: 'how and when PAM reaches you (the defaults until you change them)',
        tags: ['me'],
        response: { 200: Settings },
      }),
    },
    async (request) => notificationSettingsOf(db, request.userId),
  )
  app.put(
    '/v1/me/notification-settings',
    {
      schema: v1Schema({
        summary:
          'replace your notification settings (times are in your timezone); a new email address is sent a link to confirm it',
        tags: ['me'],
        body: SettingsInput,
        response: { 200: Settings },
      }),
    },
    async (request) => {
      const settings = request.body
      refuseIfAny(
        settings.quietHours && settings.quietHours.start === settings.quietHours.end
          ? [{ field: 'quietHours.end', problem: 'must differ from quietHours.start' }]
          : [],
      )
      const { verified: _readOnly, ...email } = settings.email
      const saved = await saveNotificationSettings(db, request.userId, { ...settings, email })
      // A new address, or one still unconfirmed: its owner is asked (the job keeps to its caps).
      if (saved.email.address && !saved.email.verified) {
        await queueConfirmation(request.userId).catch((error) =>
          request.log.warn({ err: messageOf(error) }, 'address confirmation not queued; saving again sends it'),
        )
      }
      return saved
    },
  )
}
