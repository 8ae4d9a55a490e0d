import type { Bus } from '../backend/backend.js'
import type { monitorThresholds } from '../config.js'
import type { Db } from '../db/database.js'
import type { Logger } from '../logger.js'
import type { PlacesProvider } from '../providers/places/places-provider.js'
import type { WeatherProvider } from '../providers/weather/weather-provider.js'
import type { Producer } from './producer.js'

/** What the monitor tasks need beyond the database: built by the worker role from deps. */
export interface MonitorServices {
  bus: Bus
  places: PlacesProvider
  weather: WeatherProvider
  thresholds: ReturnType<typeof monitorThresholds>
  enqueue: Producer['enqueue']
  /** How long a write's own evaluation job has before the drainer evaluates it instead. */
  drainGraceMs: number
}

/** What every task handler receives besides its payload. */
export interface TaskContext {
  db: Db
  logger: Logger
  workerId: string
  jobId: string
  /** Aborted when the task's time limit passes or the worker is force-closed. */
  signal: AbortSignal
  /** Absent in consumers started without them (tests of the job machinery). */
  services?: MonitorServices
}

export type TaskHandler<P = unknown, R = unknown> = (payload: P, context: TaskContext) => Promise<R>
