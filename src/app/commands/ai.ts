import { parseArgs } from 'node:util'
import { deploymentUsage } from '../../ai/ai-usage-repository.js'
import { utcDay } from '../../ai/budget.js'
import type { Config } from '../../platform/config.js'
import { UsageError, withOpsDeps } from './ops-deps.js'
import { formatTable } from './table.js'

const USAGE = 'usage: npx pam ai usage [--day YYYY-MM-DD] [--json]'

/** `pam ai usage [--day D] [--json]`: a UTC day's model calls, tokens and cost against the cap. */
export async function runAiCommand(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { day: { type: 'string' }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
  })
  if (positionals[0] !== 'usage' || positionals.length > 1) throw new UsageError(USAGE)
  const day = values.day ?? utcDay(new Date())
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(day))) {
    throw new UsageError(`--day: '${day}' is not a date (YYYY-MM-DD, UTC)`)
  }
  await withOpsDeps(config, 'ai usage', async (deps) => {
    const usage = await deploymentUsage(deps.db, day)
    const report = { day, capUsd: config.AI_DAILY_BUDGET_USD, ...usage }
    if (values.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
      return
    }
    process.stdout.write(
      `${day} (UTC): $${usage.spentUsd.toFixed(4)} of $${config.AI_DAILY_BUDGET_USD.toFixed(2)} (settled + in flight)\n`,
    )
    process.stdout.write(
      formatTable(
        usage.models.map((m) => ({
          provider: m.provider,
          model: m.model,
          calls: m.calls,
          failed: m.failed,
          refused: m.refused,
          'input tok': m.inputTokens,
          'output tok': m.outputTokens,
          'cache write': m.cacheWriteTokens,
          'cache read': m.cacheReadTokens,
          'cache hits': m.cacheHits,
          'cost $': m.costUsd.toFixed(4),
        })),
      ),
    )
  })
}
