import { present, toIso } from '../../platform/db/mapping.js'
import { ownedResource } from '../../platform/db/owned-rows.js'

/** The signal kinds PAM understands (the context monitor's rules are written for these). */
export const SIGNAL_KINDS = ['location', 'activity', 'arrival', 'departure', 'weather'] as const
export type SignalKind = (typeof SIGNAL_KINDS)[number]

export interface ContextSignal {
  id: string
  kind: SignalKind
  value: string
  confidence: number
  lat: number | null
  lon: number | null
  observedAt: string
  createdAt: string
}

export type ContextSignalInput = Pick<ContextSignal, 'kind' | 'value' | 'confidence'> & {
  lat?: number
  lon?: number
  observedAt?: string
}

export const contextSignals = ownedResource('context_signals', {
  sortColumn: 'observed_at',
  touch: false,
  toItem: (row): ContextSignal => ({
    id: row.id,
    kind: row.kind as SignalKind,
    value: row.value,
    confidence: Number(row.confidence),
    lat: row.lat,
    lon: row.lon,
    observedAt: toIso(row.observed_at) ?? '',
    createdAt: toIso(row.created_at) ?? '',
  }),
  columns: (input: Partial<ContextSignalInput>) =>
    present({
      kind: input.kind,
      value: input.value,
      confidence: input.confidence,
      lat: input.lat,
      lon: input.lon,
      observed_at: input.observedAt,
    }),
})
