import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { sql } from 'kysely'
import { wantsModelText } from '../../ai/alert-text.js'
import { DEFAULT_NOTIFICATION_SETTINGS } from '../../delivery/notification-settings.js'
import { confirmEmailAddress, saveNotificationSettings } from '../../delivery/notification-settings-repository.js'
import { createProducer } from '../../jobs/producer.js'
import { monitors as registeredMonitors } from '../../monitoring/registry.js'
import { type Config, isProduction } from '../../platform/config.js'
import type { Db } from '../../platform/db/database.js'
import { ensureUser } from '../../travellers/users/user-repository.js'
import { localBase, watchCommand } from './next-steps.js'
import { UsageError, withOpsDeps } from './ops-deps.js'

const MOAB = { lat: 38.5733, lon: -109.5498 }
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10)

/** A traveller whose data trips every monitor: low fuel, a budget at 90 %, a trip, an overdue service, a new place. */
async function seedTraveller(db: Db, userId: string): Promise<void> {
  await ensureUser(db, userId)
  const now = new Date()
  const vehicle = await db
    .insertInto('vehicles')
    .values({
      user_id: userId,
      name: 'Demo campervan',
      fuel_capacity_l: 80,
      consumption_l_per_100km: 12.5,
      odometer_km: 60_000,
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  await db
    .insertInto('fuel_readings')
    .values({ user_id: userId, vehicle_id: vehicle.id, percent: 12, lat: 38.5733, lon: -109.5498, observed_at: now })
    .execute()
  await db
    .insertInto('maintenance_items')
    .values({
      user_id: userId,
      vehicle_id: vehicle.id,
      name: 'Oil change',
      interval_km: 5_000,
      last_done_km: 54_000,
      last_done_at: new Date(now.getTime() - 120 * 86_400_000),
      cost_estimate: 89.99,
    })
    .execute()
  await db
    .insertInto('budgets')
    .values({ user_id: userId, category: 'food', amount: 400, currency: 'USD', period: 'month' })
    .execute()
  await db
    .insertInto('expenses')
    .values({ user_id: userId, amount: 360, currency: 'USD', category: 'food', spent_at: now })
    .execute()
  await db
    .insertInto('trips')
    .values({
      user_id: userId,
      name: 'Arches',
      destination_name: 'Moab, UT',
      destination_lat: MOAB.lat,
      destination_lon: MOAB.lon,
      depart_from: day(0),
      depart_until: day(10),
      days: 3,
    })
    .execute()
  await db
    .insertInto('context_signals')
    .values({ user_id: userId, kind: 'location', value: 'Moab', confidence: 0.92, observed_at: now })
    .execute()
  // An address, so the email channel has somewhere to go (SMTP_URL: a local catcher); email from medium.
  // Seeded confirmed like the rest of the demo's data: it is under example.com, which no one
  // receives (RFC 2606), so no stranger's mailbox is named.
  await saveNotificationSettings(db, userId, {
    ...DEFAULT_NOTIFICATION_SETTINGS,
    email: { address: `demo-${userId.slice(0, 8)}@example.com`, enabled: true, minPriority: 'medium' },
  })
  await confirmEmailAddress(db, userId, (address) => address.endsWith('@example.com'))
}

/**
 * `pam demo [--timeout S]`: makes a demo traveller, asks each of the five monitors to evaluate
 * them, and prints the alerts as they appear. Needs a running worker (`pam start`). The weather
 * window needs a reachable forecast provider: without one it is skipped at once, saying so.
 * Exit 1 naming each monitor that produced nothing.
 */
export async function runDemoCommand(config: Config, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { timeout: { type: 'string', default: '60' } }, strict: true })
  const timeoutMs = Number(values.timeout) * 1000
  if (!(timeoutMs > 0)) throw new UsageError('--timeout must be a positive number of seconds')
  await withOpsDeps(config, 'demo', async (deps) => {
    // The weather window needs a forecast: without one, say so now rather than after the wait.
    const noForecast = await deps.weather.daily(MOAB).then(
      () => undefined,
      (error: Error) => error.message,
    )
    if (noForecast) {
      process.stdout.write(
        `weather_window: skipped, it needs a forecast and the provider does not answer (${noForecast}); set WEATHER_API_URL to a reachable Open-Meteo\n`,
      )
    }
    const monitors = registeredMonitors().filter((monitor) => !(noForecast && monitor.name === 'weather'))
    const kinds = monitors.map((monitor) => monitor.alertKind)
    const userId = randomUUID()
    await seedTraveller(deps.db, userId)
    const producer = createProducer(deps.backend, deps.logger)
    try {
      for (const monitor of monitors) await producer.enqueue(monitor.tasks.evaluate, { userId })
    } finally {
      await producer.close()
    }
    process.stdout.write(`demo traveller ${userId}: waiting for the monitors (a worker must be running)\n`)
    const ways = waysIn(config, userId)
    const seen = new Set<string>()
    const deadline = Date.now() + timeoutMs
    while (seen.size < kinds.length && Date.now() < deadline) {
      const alerts = await deps.db
        .selectFrom('alerts')
        .select([
          'kind',
          'priority',
          'title',
          'body',
          sql<boolean>`data ? 'stationsUnavailable' or data ? 'shopsUnavailable'`.as('degraded'),
        ])
        .where('user_id', '=', userId)
        .where('resolved_at', 'is', null)
        .execute()
      for (const alert of alerts) {
        if (seen.has(alert.kind)) continue
        seen.add(alert.kind)
        process.stdout.write(
          `  ${alert.kind.padEnd(19)} ${alert.priority.padEnd(7)} ${alert.title}\n      ${alert.body}\n`,
        )
      }
      await sleep(250)
    }
    const missing = kinds.filter((kind) => !seen.has(kind))
    if (missing.length > 0) {
      throw new Error(`no alert within ${values.timeout} s for: ${missing.join(', ')} (is a worker running?)`)
    }
    process.stdout.write(
      `${kinds.length} of ${registeredMonitors().length} monitors produced an alert${noForecast ? ' (weather skipped: no forecast)' : ''}; see them as this traveller:\n${ways}\n`,
    )
    await showAiText(deps.db, userId, config, Math.max(0, deadline - Date.now()))
    await showDeliveries(deps.db, userId, Math.max(0, deadline - Date.now()))
  })
}

/**
 * Waits (within what is left of the timeout) for every alert's delivery to be settled on both
 * channels, and prints what happened on each: sent, deferred or suppressed, with the reason.
 */
async function showDeliveries(db: Db, userId: string, waitMs: number): Promise<void> {
  const deadline = Date.now() + Math.min(waitMs, 30_000)
  const load = () =>
    db
      .selectFrom('alerts')
      .leftJoin('deliveries', 'deliveries.alert_id', 'alerts.id')
      .select(['alerts.kind', 'deliveries.channel', 'deliveries.status', 'deliveries.reason', 'deliveries.error'])
      .where('alerts.user_id', '=', userId)
      .orderBy('alerts.created_at')
      .orderBy('deliveries.channel')
      .execute()
  let rows = await load()
  const settled = () => rows.every((row) => row.status && row.status !== 'queued' && row.status !== 'sending')
  while (!settled() && Date.now() < deadline) {
    await sleep(250)
    rows = await load()
  }
  process.stdout.write(`deliveries${settled() ? '' : ' (some still pending)'} (GET /v1/alerts/:id/deliveries):\n`)
  const byKind = new Map<string, string[]>()
  for (const row of rows) {
    const what = row.channel ? `${row.channel} ${row.status}${row.reason ? ` (${row.reason})` : ''}` : 'none yet'
    byKind.set(row.kind, [...(byKind.get(row.kind) ?? []), what])
  }
  for (const [kind, outcomes] of byKind) process.stdout.write(`  ${kind.padEnd(19)} ${outcomes.join(', ')}\n`)
}

/**
 * With a fast model configured, waits (within what is left of the timeout) for the alerts it
 * rewrites and prints their AI text; without one, says the text stays PAM's own templates.
 */
async function showAiText(db: Db, userId: string, config: Config, waitMs: number): Promise<void> {
  if (!config.GEMINI_API_KEY) {
    process.stdout.write('AI text: off (no GEMINI_API_KEY); alerts keep their template text\n')
    return
  }
  const wanted = await db
    .selectFrom('alerts')
    .select(['id', 'kind', 'priority'])
    .where('user_id', '=', userId)
    .execute()
  const expected = wanted.filter(wantsModelText).length
  const deadline = Date.now() + Math.min(waitMs, 30_000)
  let rewritten: { kind: string; title: string; body: string; text_source: string }[] = []
  while (Date.now() < deadline) {
    rewritten = await db
      .selectFrom('alerts')
      .select(['kind', 'title', 'body', 'text_source'])
      .where('user_id', '=', userId)
      .where('text_source', '!=', 'template')
      .execute()
    if (rewritten.length >= expected) break
    await sleep(250)
  }
  process.stdout.write(`AI text: ${rewritten.length} of ${expected} alerts rewritten by ${config.AI_FAST_MODEL}\n`)
  for (const alert of rewritten) {
    process.stdout.write(`  ${alert.kind.padEnd(19)} ${alert.title}\n      ${alert.body}\n`)
  }
}

/** How to see the demo traveller's alerts: the exact commands where PAM can mint their token. */
function waysIn(config: Config, userId: string): string {
  if (isProduction(config) || config.JWT_JWKS_URL)
    return '  GET /v1/alerts with a token for this user from your identity provider'
  return [
    `  curl -s ${localBase(config)}/v1/alerts -H "Authorization: Bearer $(npx pam token --user ${userId})"`,
    `  ${watchCommand(config, `--user ${userId}`)}    (live, in another terminal)`,
  ].join('\n')
}
