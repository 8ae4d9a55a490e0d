import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import type { Db } from '../../../platform/db/database.js'
import type { TimeZoneCatalog } from '../../../travellers/users/time-zone-repository.js'
import { getUser, updateUser } from '../../../travellers/users/user-repository.js'
import { Time, Uuid, v1Schema } from '../../schemas.js'
import { refuseIfAny } from './crud.js'
import { Body, Latitude, Longitude } from './fields.js'

const Home = Type.Union([Type.Object({ lat: Latitude, lon: Longitude }, { additionalProperties: false }), Type.Null()])
const Preferences = Type.Record(Type.String(), Type.Unknown(), { maxProperties: 100 })

const Me = Type.Object({
  id: Uuid('the token sub'),
  timezone: Type.String({ description: 'IANA timezone: budget periods and days follow it' }),
  home: Home,
  preferences: Preferences,
  createdAt: Time('first seen'),
})

export const meRoutes: FastifyPluginAsyncTypebox<{ db: Db; zones: TimeZoneCatalog }> = async (app, { db, zones }) => {
  const load = async (userId: string) => {
    const user = await getUser(db, userId)
    if (!user) throw new Error('the user row is created on authentication')
    return user
  }
  app.get(
    '/v1/me',
    { schema: v1Schema({ summary: 'your profile', tags: ['me'], response: { 200: Me } }) },
    async (request) => load(request.userId),
  )
  app.patch(
    '/v1/me',
    {
      schema: v1Schema({
        summary: 'change your timezone, home or preferences',
        tags: ['me'],
        body: Body({
          timezone: Type.Optional(
            Type.String({
              minLength: 1,
              maxLength: 100,
              description:
                'an IANA zone name, e.g. America/Denver, that PostgreSQL and the runtime read alike; fixed offsets as Etc/GMT±N (POSIX sign: Etc/GMT-5 is UTC+5)',
            }),
          ),
          home: Type.Optional(Home),
          preferences: Type.Optional(Preferences),
        }),
        response: { 200: Me },
      }),
    },
    async (request) => {
      const changes = request.body
      // Stored as PostgreSQL spells it, and only when PostgreSQL, luxon and Intl read it alike.
      const timezone = changes.timezone === undefined ? undefined : await zones.canonical(changes.timezone)
      refuseIfAny(
        changes.timezone !== undefined && timezone === undefined
          ? [
              {
                field: 'timezone',
                problem:
                  'is not a time zone name PAM can use (an IANA name such as Europe/Berlin; a fixed offset as Etc/GMT-5 for UTC+5)',
              },
            ]
          : [],
      )
      await updateUser(db, request.userId, { ...changes, timezone })
      return load(request.userId)
    },
  )
}
