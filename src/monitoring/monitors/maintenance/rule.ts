import { distanceKm } from '../../../providers/geo.js'
import type { Place } from '../../../providers/places/places-provider.js'
import type { AlertDraft, Evaluation } from '../../alerts/alert-draft.js'

export const MAINTENANCE_RULE_VERSION = 1
const DAY_MS = 86_400_000
const MAX_SHOPS = 3
const SHOP_RADIUS_KM = 30

export interface MaintenanceThresholds {
  dueWithinDays: number
  dueWithinKm: number
}

export interface MaintenanceItemState {
  id: string
  vehicleId: string
  name: string
  intervalKm: number | null
  intervalDays: number | null
  /** The start of the current cycle: the last service, else when the item was added. */
  cycleStartAt: string
  /** Odometer at the last service; null when never recorded (distance is then not judged). */
  lastDoneKm: number | null
  costEstimate: number | null
  /** The one currency the user keeps budgets in, if there is one: a cost estimate has none of its own. */
  currency: string | null
  vehicle: {
    odometerKm: number
    /** When the odometer was last set. */
    odometerAt: string
    /** Last known position (latest fuel reading with one). */
    position: { lat: number; lon: number } | null
  }
}

export interface MaintenanceSnapshot {
  items: MaintenanceItemState[]
  openConditions: string[]
}

export type ShopsByVehicle = ReadonlyMap<string, readonly Place[] | 'unavailable'>

export const maintenanceCondition = (itemId: string) => `maintenance:${itemId}`

const round = (value: number) => Math.round(value * 10) / 10

/** "About USD 89.99." — a bare "About 89.99." reads as nothing in particular. */
const costText = (cost: number, currency: string | null) =>
  currency
    ? ` About ${new Intl.NumberFormat('en', { style: 'currency', currency, currencyDisplay: 'code' }).format(cost).replace(/\u00a0/g, ' ')}.`
    : ` Estimated cost ${cost.toFixed(2)} (add a budget to see its currency).`

/** Average km per day since the cycle began, from the odometer then and now; null when unknown. */
export function dailyKm(item: MaintenanceItemState): number | null {
  if (item.lastDoneKm === null) return null
  const days = (Date.parse(item.vehicle.odometerAt) - Date.parse(item.cycleStartAt)) / DAY_MS
  const km = item.vehicle.odometerKm - item.lastDoneKm
  return days >= 1 && km > 0 ? km / days : null
}

/** Whether an item needs attention now, and the figures its alert explains itself with. */
export function dueState(item: MaintenanceItemState, now: Date, t: MaintenanceThresholds) {
  const byDate = item.intervalDays === null ? null : Date.parse(item.cycleStartAt) + item.intervalDays * DAY_MS
  const dueKm = item.intervalKm === null || item.lastDoneKm === null ? null : item.lastDoneKm + item.intervalKm
  const kmLeft = dueKm === null ? null : dueKm - item.vehicle.odometerKm
  const daysLeft = byDate === null ? null : (byDate - now.getTime()) / DAY_MS
  const perDay = dailyKm(item)
  const forecastDueAt =
    kmLeft === null || perDay === null ? null : new Date(now.getTime() + Math.max(0, kmLeft / perDay) * DAY_MS)
  const overdue = (daysLeft !== null && daysLeft < 0) || (kmLeft !== null && kmLeft < 0)
  const soon = (daysLeft !== null && daysLeft <= t.dueWithinDays) || (kmLeft !== null && kmLeft <= t.dueWithinKm)
  return {
    overdue,
    soon,
    dueAt: byDate === null ? null : new Date(byDate).toISOString(),
    dueKm,
    forecastDueAt: forecastDueAt?.toISOString() ?? null,
    overdueByDays: daysLeft !== null && daysLeft < 0 ? Math.floor(-daysLeft) : null,
    overdueByKm: kmLeft !== null && kmLeft < 0 ? round(-kmLeft) : null,
    daysLeft,
    kmLeft,
  }
}

/** The repair-shop searches the items due need: around each vehicle's last known position. */
export function shopSearches(snapshot: MaintenanceSnapshot, now: Date, t: MaintenanceThresholds) {
  const seen = new Set<string>()
  return snapshot.items.flatMap((item) => {
    const state = dueState(item, now, t)
    const at = item.vehicle.position
    if (!(state.overdue || state.soon) || !at || seen.has(item.vehicleId)) return []
    seen.add(item.vehicleId)
    return [{ vehicleId: item.vehicleId, at, radiusKm: SHOP_RADIUS_KM }]
  })
}

/**
 * Due by date or distance, whichever comes first: within 14 days or 500 km → medium; overdue →
 * high with how far. Not due → the condition clears (a service starts a new cycle).
 */
export function evaluateMaintenance(
  snapshot: MaintenanceSnapshot,
  now: Date,
  shops: ShopsByVehicle,
  t: MaintenanceThresholds,
): Evaluation {
  const conditions = new Set(snapshot.openConditions)
  const drafts: AlertDraft[] = []
  for (const item of snapshot.items) {
    conditions.add(maintenanceCondition(item.id))
    const state = dueState(item, now, t)
    if (!state.overdue && !state.soon) continue
    const priority = state.overdue ? 'high' : 'medium'
    const found = shops.get(item.vehicleId)
    const at = item.vehicle.position
    const nearest =
      at && Array.isArray(found)
        ? found
            .map((shop) => ({ ...shop, distanceKm: round(distanceKm(at, shop)) }))
            .sort((a, b) => a.distanceKm - b.distanceKm)
            .slice(0, MAX_SHOPS)
        : []
    const when = state.overdue
      ? `overdue${state.overdueByKm !== null ? ` by ${Math.round(state.overdueByKm)} km` : ''}${state.overdueByDays !== null ? `${state.overdueByKm !== null ? ',' : ''} by ${state.overdueByDays} day(s)` : ''}`
      : `due ${state.dueAt && (state.daysLeft ?? Infinity) <= t.dueWithinDays ? `on ${state.dueAt.slice(0, 10)}` : `in ${Math.round(state.kmLeft ?? 0)} km`}`
    drafts.push({
      kind: 'maintenance_due',
      priority,
      condition: maintenanceCondition(item.id),
      variant: priority,
      title: `${item.name} ${when}`,
      body: `${item.name} is ${when}.${item.costEstimate !== null ? costText(item.costEstimate, item.currency) : ''}${nearest.length > 0 ? ` Nearby: ${nearest.map((s) => `${s.name} (${s.distanceKm} km)`).join(', ')}.` : ''}`,
      data: {
        threshold: state.overdue ? 0 : t.dueWithinKm,
        observedAt: item.vehicle.odometerAt,
        ruleVersion: MAINTENANCE_RULE_VERSION,
        vehicleId: item.vehicleId,
        itemId: item.id,
        name: item.name,
        ...(state.dueAt ? { dueAt: state.dueAt } : {}),
        ...(state.dueKm !== null ? { dueKm: state.dueKm } : {}),
        ...(state.forecastDueAt ? { forecastDueAt: state.forecastDueAt } : {}),
        ...(state.overdueByDays !== null ? { overdueByDays: state.overdueByDays } : {}),
        ...(state.overdueByKm !== null ? { overdueByKm: state.overdueByKm } : {}),
        ...(item.costEstimate !== null ? { costEstimate: item.costEstimate } : {}),
        shops: nearest,
        ...(found === 'unavailable' ? { shopsUnavailable: true } : {}),
      },
    })
  }
  return { conditions: [...conditions], drafts }
}
