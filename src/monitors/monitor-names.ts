/** The five monitors, by the name their tasks, schedules and evaluation marks use. */
export const MONITOR_NAMES = ['fuel', 'budget', 'weather', 'maintenance', 'context'] as const

export type MonitorName = (typeof MONITOR_NAMES)[number]
