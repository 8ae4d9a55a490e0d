import Type from 'typebox'
import { type TripInput, trips } from '../../../travellers/trips/trip-repository.js'
import type { ErrorDetail } from '../../errors.js'
import { Time, typed, Uuid } from '../../schemas.js'
import { crudRoutes } from './crud.js'
import { Body, Latitude, Longitude, Name, PatchOf } from './fields.js'

const Day = (description: string) => Type.String({ format: 'date', description: `${description} (YYYY-MM-DD)` })

const fields = {
  name: Name,
  destination: Type.Object({ name: Name, lat: Latitude, lon: Longitude }, { additionalProperties: false }),
  departFrom: Day('earliest departure'),
  departUntil: Day('latest departure'),
  days: Type.Integer({ minimum: 1, maximum: 365, description: 'length of the trip' }),
  status: Type.Enum(['planned', 'active', 'done', 'cancelled']),
}

const Trip = Type.Object({
  id: Uuid('trip id'),
  ...fields,
  createdAt: Time('created'),
  updatedAt: Time('last changed'),
})

// A day of slack: "today" differs by timezone, and a window ending today is still current somewhere.
const yesterdayUtc = (now: Date) => new Date(now.getTime() - 86_400_000).toISOString().slice(0, 10)

/** The departure window must be in order and, for a trip still planned, not entirely past. */
export function tripProblems(trip: TripInput, now = new Date()): ErrorDetail[] {
  const problems: ErrorDetail[] = []
  if (trip.departUntil < trip.departFrom)
    problems.push({ field: 'departUntil', problem: 'must not be before departFrom' })
  if ((trip.status ?? 'planned') === 'planned' && trip.departUntil < yesterdayUtc(now)) {
    problems.push({ field: 'departUntil', problem: 'is in the past: a planned trip needs a window ahead' })
  }
  return problems
}

export const tripRoutes = crudRoutes({
  path: '/v1/trips',
  tag: 'trips',
  noun: 'trip',
  writes: ['trips'],
  resource: trips,
  Item: Trip,
  Create: typed(Body({ ...fields, status: Type.Optional(fields.status) })),
  Patch: typed(PatchOf(fields)),
  check: (trip) => tripProblems(trip),
})
