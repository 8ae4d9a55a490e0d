import { loadBudgetSnapshots } from '../../monitoring/monitors/budget/snapshot.js'
import type { Db } from '../../platform/db/database.js'
import type { BriefingInputs } from '../briefing-digest.js'

/**
 * What one traveller's briefing is written from, in five small queries: budgets (the budget
 * monitor's own loader), the next trip with its open weather window, open maintenance alerts
 * (their data has the forecast dates), and the last 30 days of fuel readings.
 */
export async function loadBriefingInputs(db: Db, userId: string, period: string, now: Date): Promise<BriefingInputs> {
  const budgets = (await loadBudgetSnapshots(db, [userId], now)).get(userId)?.budgets ?? []
  const trip = await db
    .selectFrom('trips')
    .select(['id', 'name', 'destination_name', 'depart_from', 'depart_until', 'days'])
    .where('user_id', '=', userId)
    .where('status', 'in', ['planned', 'active'])
    .where('depart_until', '>=', period)
    .orderBy('depart_from')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst()
  const alerts = await db
    .selectFrom('alerts')
    .select(['kind', 'data'])
    .where('user_id', '=', userId)
    .where('kind', 'in', ['weather_window', 'maintenance_due'])
    .where('resolved_at', 'is', null)
    .where('dismissed_at', 'is', null)
    .orderBy('created_at')
    .execute()
  const window = alerts.find((alert) => alert.kind === 'weather_window' && alert.data.tripId === trip?.id)?.data
  const readings = await db
    .selectFrom('fuel_readings')
    .select(['vehicle_id', 'percent'])
    .where('user_id', '=', userId)
    .where('observed_at', '>', new Date(now.getTime() - 30 * 86_400_000))
    .orderBy('vehicle_id')
    .orderBy('observed_at')
    .execute()
  const byVehicle = new Map<string, { vehicle: string; percent: number }[]>()
  for (const reading of readings) {
    const list = byVehicle.get(reading.vehicle_id) ?? []
    list.push({ vehicle: reading.vehicle_id, percent: Number(reading.percent) })
    byVehicle.set(reading.vehicle_id, list)
  }
  return {
    period,
    budgets,
    nextTrip: trip
      ? {
          name: trip.name,
          destination: trip.destination_name,
          departFrom: trip.depart_from,
          departUntil: trip.depart_until,
          days: trip.days,
          window: window
            ? {
                windowStart: String(window.windowStart),
                windowEnd: String(window.windowEnd),
                optimalDeparture: String(window.optimalDeparture),
              }
            : null,
        }
      : null,
    maintenance: alerts.filter((alert) => alert.kind === 'maintenance_due').map((alert) => alert.data),
    fuelReadings: [...byVehicle.values()],
  }
}
