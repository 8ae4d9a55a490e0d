import type { Config } from '../platform/config.js'
import type { InputTable, Monitor } from './monitor.js'
import { budget } from './monitors/budget/monitor.js'
import { context } from './monitors/context/monitor.js'
import { fuel } from './monitors/fuel/monitor.js'
import { maintenance } from './monitors/maintenance/monitor.js'
import { weather } from './monitors/weather/monitor.js'

/** The one registry of monitors. Adding a monitor means adding its entry here (docs/architecture.md, "Adding a monitor"). */
export const MONITORS = { fuel, budget, weather, maintenance, context }

export type MonitorName = keyof typeof MONITORS
export const MONITOR_NAMES = Object.keys(MONITORS) as MonitorName[]
export const MONITOR_LIST: readonly Monitor<MonitorName>[] = Object.values(MONITORS)

/** The monitors a write to these tables asks to look again (what their triggers mark). */
export const monitorsReading = (...tables: InputTable[]): MonitorName[] =>
  MONITOR_LIST.filter((monitor) => monitor.inputs.some((table) => tables.includes(table))).map(
    (monitor) => monitor.name,
  )

/** The task names of every monitor, as literal types ('monitor.fuel.evaluate' | …). */
export type MonitorTaskName = { [N in MonitorName]: (typeof MONITORS)[N]['tasks'][keyof Monitor['tasks']] }[MonitorName]

/** Every alert kind PAM opens, in registry order (the API's `kind` enum, the demo's checklist). */
export const ALERT_KINDS = MONITOR_LIST.map((monitor) => monitor.alertKind)

export type Thresholds = { [N in MonitorName]: ReturnType<(typeof MONITORS)[N]['thresholds']> }

/** What a sweep's result depends on besides the data: a run under other rules does not cover the next. */
export const monitorRules = (monitor: Monitor<MonitorName>, thresholds: unknown): string =>
  JSON.stringify({ rule: monitor.ruleVersion, thresholds })

/** Each monitor's thresholds, read from config once when a worker starts. */
export const monitorThresholds = (config: Config): Thresholds =>
  Object.fromEntries(MONITOR_LIST.map((monitor) => [monitor.name, monitor.thresholds(config)])) as Thresholds
