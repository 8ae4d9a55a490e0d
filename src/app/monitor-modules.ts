import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Monitor } from '../monitoring/monitor.js'
import { registerMonitor } from '../monitoring/registry.js'
import { messageOf } from '../platform/errors/error-message.js'

/** A monitor module's problem, naming the variable and the module: start-up stops on it. */
export class MonitorModuleError extends Error {}

const isMonitor = (value: unknown): value is Monitor =>
  typeof value === 'object' &&
  value !== null &&
  ['name', 'alertKind', 'tasks', 'schedule', 'inputs', 'evaluate', 'candidates', 'thresholds'].every(
    (key) => key in value,
  )

/**
 * Registers the monitors PAM_MONITORS names (each module exports `monitor`), before any command
 * builds anything from the registry: every process of a deployment then knows the same monitors.
 * A path is taken from the working directory; anything else is a package name.
 */
export async function loadMonitorModules(specifiers: readonly string[] = []): Promise<string[]> {
  const names: string[] = []
  for (const specifier of specifiers) {
    const url = specifier.startsWith('.') || isAbsolute(specifier) ? pathToFileURL(resolve(specifier)).href : specifier
    let exported: unknown
    try {
      exported = (await import(url)).monitor
    } catch (error) {
      throw new MonitorModuleError(`PAM_MONITORS: cannot load ${specifier}: ${messageOf(error)}`)
    }
    if (!isMonitor(exported)) {
      throw new MonitorModuleError(`PAM_MONITORS: ${specifier} does not export a monitor as \`monitor\``)
    }
    try {
      registerMonitor(exported)
    } catch (error) {
      throw new MonitorModuleError(`PAM_MONITORS: ${specifier}: ${messageOf(error)}`)
    }
    names.push(exported.name)
  }
  return names
}
