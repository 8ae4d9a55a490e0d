import type { Bus } from '../../../platform/backend/backend.js'
import type { Db } from '../../../platform/db/database.js'
import type { Logger } from '../../../platform/logger.js'
import { type MaintenanceItem, maintenanceItems } from '../../../travellers/maintenance/maintenance-item-repository.js'
import { advanceOdometer } from '../../../travellers/vehicles/vehicle-repository.js'
import {
  type AlertChangeObserver,
  type AlertEvent,
  announceAlertEvents,
  resolveAlertsAbout,
} from '../../alerts/alert-store.js'

/**
 * Runs writes in one transaction. The HTTP layer's (`CommitWrite`) also stores the evaluation
 * marks and the idempotent response with them; a missing row (`undefined`) writes nothing.
 */
export type InTransaction = <T>(write: (trx: Db) => Promise<T | undefined>) => Promise<T | undefined | false>

/** Maintenance writes that have consequences beyond their own row. */
export function maintenanceService(deps: { bus: Bus; logger: Logger; observe?: AlertChangeObserver }) {
  return {
    /**
     * Records a service: the item's new cycle starts, the vehicle's odometer moves forward (never
     * back), and the item's open maintenance alerts resolve — all in one transaction, then the
     * resolutions are told on the stream. Undefined when the user has no such item.
     */
    async recordService(
      inTransaction: InTransaction,
      userId: string,
      itemId: string,
      service: { doneAt: string; odometerKm: number },
    ): Promise<MaintenanceItem | undefined> {
      let resolved: AlertEvent[] = []
      const item = await inTransaction(async (trx) => {
        const item = await maintenanceItems.update(trx, userId, itemId, {
          lastDoneAt: service.doneAt,
          lastDoneKm: service.odometerKm,
        })
        if (!item) return undefined
        await advanceOdometer(trx, userId, item.vehicleId, service.odometerKm)
        resolved = await resolveAlertsAbout(trx, userId, 'maintenance_due', { key: 'itemId', value: itemId })
        return item
      })
      if (!item) return undefined
      for (const _ of resolved) deps.observe?.('resolved', 'maintenance_due')
      await announceAlertEvents(
        deps.bus,
        resolved,
        deps.logger.child({ userId }),
        'service recorded, its alerts resolved',
      )
      return item
    },
  }
}

export type MaintenanceService = ReturnType<typeof maintenanceService>
