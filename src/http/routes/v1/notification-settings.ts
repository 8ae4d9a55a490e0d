import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import type { Db } from '../../../db/database.js'
import {
  notificationSettingsOf,
  saveNotificationSettings,
} from '../../../notifications/notification-settings-repository.js'
import { v1Schema } from '../../schemas.js'
import { refuseIfAny } from './crud.js'
import { Body, Nullable } from './fields.js'

const Priority = Type.Enum(['low', 'medium', 'high', 'urgent'])
const LocalTime = (description: string) =>
  Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: `${description}: local time HH:MM (24 h)` })

const Settings = Body({
  email: Body({
    address: Nullable(Type.String({ format: 'email', maxLength: 254, description: 'where alerts are emailed' })),
    enabled: Type.Boolean(),
    minPriority: Priority,
  }),
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

export const notificationSettingsRoutes: FastifyPluginAsyncTypebox<{ db: Db }> = async (app, { db }) => {
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
        summary: 'replace your notification settings (times are in your timezone)',
        tags: ['me'],
        body: Settings,
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
      return saveNotificationSettings(db, request.userId, settings)
    },
  )
}
