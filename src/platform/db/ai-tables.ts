import type { Generated, JSONColumnType } from 'kysely'
import type { CreatedAt, Numeric, Timestamp } from './column-types.js'

/** The AI layer's tables: its money ledger, the providers it turned off, the briefings it wrote. */
export interface AiBudgetDaysTable {
  /** 'deployment' or 'user:<id>'. */
  scope: string
  day: string
  spent_usd: Numeric
}

export interface AiCallsTable {
  id: Generated<string>
  user_id: string | null
  purpose: string
  provider: string
  model: string
  day: string
  outcome: string
  error_code: string | null
  reserved_usd: Numeric
  cost_usd: Numeric
  input_tokens: Generated<number>
  output_tokens: Generated<number>
  cache_write_tokens: Generated<number>
  cache_read_tokens: Generated<number>
  latency_ms: number | null
  created_at: CreatedAt
  settled_at: Timestamp | null
}

export interface AiProviderBlocksTable {
  provider: string
  day: string
  reason: string
  created_at: CreatedAt
}

export interface BriefingsTable {
  id: Generated<string>
  user_id: string
  kind: 'daily' | 'requested'
  period: string
  status: Generated<'pending' | 'ready'>
  text_source: Generated<string>
  summary: string | null
  sections: JSONColumnType<{ title: string; body: string }[]> | null
  cost_usd: Numeric | null
  template_reason: string | null
  created_at: CreatedAt
  ready_at: Timestamp | null
}
