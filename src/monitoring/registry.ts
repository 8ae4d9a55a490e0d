import type { Config } from '../platform/config.js'
import type { InputTable, Monitor } from './monitor.js'
import { budget } from './monitors/budget/monitor.js'
import { context } from './monitors/context/monitor.js'
import { fuel } from './monitors/fuel/monitor.js'
import { maintenance } from './monitors/maintenance/monitor.js'
import { weather } from './monitors/weather/monitor.js'

/**
 * The one registry of monitors: the ones PAM ships, then any registered with `registerMonitor`
 * (PAM_MONITORS' modules, loaded by the CLI before any command; docs/architecture.md, "Adding a
 * monitor"). Everything else about a monitor — its tasks and their payloads, its schedule, which
 * writes mark it, the API's `kind` enum, the demo's checklist, its thresholds — is read from here
 * when a role is built. The first read seals it: a monitor registered later would be half-known
 * (enqueued by the API but run by no worker), so registering then throws.
 */
const registered = new Map<string, Monitor>(
  [fuel, budget, weather, maintenance, context].map((monitor): [string, Monitor] => [monitor.name, monitor]),
)

/** A monitor's name (`fuel`): data the registry checks, as the alert kinds are. */
export type MonitorName = string

const NAME = /^[a-z][a-z0-9_]{0,49}$/

let sealed = false

/** Adds a monitor to the registry; refuses one that would clash with another or that PAM could not run. */
export function registerMonitor(monitor: Monitor): void {
  if (sealed) {
    throw new Error(
      `monitor ${monitor.name} not registered: the registry was read already; register monitors before building roles`,
    )
  }
  const problems: string[] = []
  if (!NAME.test(monitor.name)) problems.push(`its name must match ${NAME}`)
  if (!NAME.test(monitor.alertKind)) problems.push(`its alert kind must match ${NAME}`)
  for (const [kind, task] of Object.entries(monitor.tasks)) {
    if (task !== `monitor.${monitor.name}.${kind}`)
      problems.push(`its ${kind} task must be monitor.${monitor.name}.${kind}`)
  }
  for (const other of registered.values()) {
    if (other.name === monitor.name) problems.push(`a monitor named ${monitor.name} is registered`)
    if (other.alertKind === monitor.alertKind) problems.push(`${other.name} already opens ${monitor.alertKind} alerts`)
    if (other.schedule.id === monitor.schedule.id)
      problems.push(`${other.name} already has schedule ${monitor.schedule.id}`)
  }
  if (problems.length > 0) throw new Error(`monitor ${monitor.name} not registered: ${problems.join('; ')}`)
  registered.set(monitor.name, monitor)
}

/** Every registered monitor, in registry order. */
export function monitors(): readonly Monitor[] {
  sealed = true
  return [...registered.values()]
}

export const monitorNamed = (name: MonitorName): Monitor | undefined => {
  sealed = true
  return registered.get(name)
}

/** The monitor whose alerts are of this kind. */
export const monitorOpening = (kind: string): Monitor | undefined =>
  monitors().find((monitor) => monitor.alertKind === kind)

/** The monitors a write to these tables asks to look again (what their triggers mark). */
export const monitorsReading = (...tables: InputTable[]): MonitorName[] =>
  monitors()
    .filter((monitor) => monitor.inputs.some((table) => tables.includes(table)))
    .map((monitor) => monitor.name)

/** Every alert kind PAM opens, in registry order (the API's `kind` enum, the demo's checklist). */
export const alertKinds = (): string[] => monitors().map((monitor) => monitor.alertKind)

/** Each monitor's thresholds by its name, read from config once when a worker starts. */
export type Thresholds = ReadonlyMap<MonitorName, unknown>

/** What a sweep's result depends on besides the data: a run under other rules does not cover the next. */
export const monitorRules = (monitor: Monitor, thresholds: unknown): string =>
  JSON.stringify({ rule: monitor.ruleVersion, thresholds })

export const monitorThresholds = (config: Config): Thresholds =>
  new Map(monitors().map((monitor) => [monitor.name, monitor.thresholds(config)]))
