import type { BudgetState } from '../monitoring/monitors/budget/rule.js'
import {
  BODY_MAX,
  type BriefingText,
  briefingTextShape,
  SECTIONS_MAX,
  SUMMARY_MAX,
  TITLE_MAX,
} from './structured-text.js'
import type { TextRequest } from './text-generator.js'

/** What a briefing is written from, as the repository loads it for one traveller. */
export interface BriefingInputs {
  /** The traveller's local date the briefing covers. */
  period: string
  budgets: BudgetState[]
  nextTrip: {
    name: string
    destination: string
    departFrom: string
    departUntil: string
    days: number
    /** From the open weather_window alert of this trip, when the weather monitor found one. */
    window: { windowStart: string; windowEnd: string; optimalDeparture: string } | null
  } | null
  /** The data of open maintenance_due alerts: what is coming due, with its forecast date. */
  maintenance: Record<string, unknown>[]
  /** Fuel readings of the last 30 days, oldest first, per vehicle. */
  fuelReadings: { vehicle: string; percent: number }[][]
}

/**
 * The compact, deterministic digest a briefing is written from: the same data gives the same
 * digest (and so the same prompt), rounded to what a reader needs, with no ids and no positions.
 */
export interface Digest {
  period: string
  budgets: {
    category: string
    currency: string
    amount: number
    spent: number
    percentSpent: number
    /** Where the period ends at the current pace, as a percent of the budget. */
    percentAtPace: number
    daysLeft: number
    dailyAllowance: number
  }[]
  nextTrip: (Omit<NonNullable<BriefingInputs['nextTrip']>, 'window'> & { clearWindow: string | null }) | null
  maintenance: {
    name: string
    dueAt?: string
    forecastDueAt?: string
    dueKm?: number
    overdueByDays?: number
    overdueByKm?: number
    costEstimate?: number
  }[]
  fuel: { readings: number; refuels: number; averageRefuelAtPercent: number | null; lowestPercent: number | null }
}

const round = (value: number, places = 0) => Math.round(value * 10 ** places) / 10 ** places
const dateOf = (iso: unknown) => (typeof iso === 'string' ? iso.slice(0, 10) : undefined)
const numberOf = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : undefined)

// A reading this much above the previous one is a refuel: what it rose from is where they refuelled.
const REFUEL_RISE_PERCENT = 20

export function buildDigest(inputs: BriefingInputs, now: Date): Digest {
  const budgets = [...inputs.budgets]
    .sort((a, b) => (a.category ?? '').localeCompare(b.category ?? '') || a.id.localeCompare(b.id))
    .map((budget) => {
      const start = Date.parse(budget.period.start)
      const end = Date.parse(budget.period.end)
      const elapsed = Math.min(1, Math.max(0.01, (now.getTime() - start) / (end - start)))
      const ratio = budget.amount > 0 ? budget.spent / budget.amount : 0
      return {
        category: budget.category ?? 'total',
        currency: budget.currency,
        amount: budget.amount,
        spent: budget.spent,
        percentSpent: round(ratio * 100),
        percentAtPace: round((ratio / elapsed) * 100),
        daysLeft: budget.period.daysLeft,
        dailyAllowance: round(Math.max(0, budget.amount - budget.spent) / budget.period.daysLeft, 2),
      }
    })
  const trip = inputs.nextTrip
  const refuelsFrom = inputs.fuelReadings.flatMap((readings) =>
    readings.slice(1).flatMap((reading, i) => {
      const previous = readings[i]?.percent ?? reading.percent
      return reading.percent - previous >= REFUEL_RISE_PERCENT ? [previous] : []
    }),
  )
  const all = inputs.fuelReadings.flat().map((reading) => reading.percent)
  return {
    period: inputs.period,
    budgets,
    nextTrip: trip
      ? {
          name: trip.name,
          destination: trip.destination,
          departFrom: trip.departFrom,
          departUntil: trip.departUntil,
          days: trip.days,
          clearWindow: trip.window
            ? `${dateOf(trip.window.windowStart)} to ${dateOf(trip.window.windowEnd)}, best departure ${dateOf(trip.window.optimalDeparture)}`
            : null,
        }
      : null,
    maintenance: inputs.maintenance
      .map((data) => ({
        name: String(data.name ?? 'service'),
        dueAt: dateOf(data.dueAt),
        forecastDueAt: dateOf(data.forecastDueAt),
        dueKm: numberOf(data.dueKm),
        overdueByDays: numberOf(data.overdueByDays),
        overdueByKm: numberOf(data.overdueByKm),
        costEstimate: numberOf(data.costEstimate),
      }))
      .map(
        (item) =>
          Object.fromEntries(Object.entries(item).filter(([, v]) => v !== undefined)) as Digest['maintenance'][number],
      )
      .sort(
        (a, b) =>
          (a.forecastDueAt ?? a.dueAt ?? '').localeCompare(b.forecastDueAt ?? b.dueAt ?? '') ||
          a.name.localeCompare(b.name),
      ),
    fuel: {
      readings: all.length,
      refuels: refuelsFrom.length,
      averageRefuelAtPercent: refuelsFrom.length
        ? round(refuelsFrom.reduce((s, p) => s + p, 0) / refuelsFrom.length)
        : null,
      lowestPercent: all.length ? round(Math.min(...all)) : null,
    },
  }
}

/** The briefing PAM writes itself: the same facts, plainly, when no model may or can. */
export function templateBriefing(digest: Digest): BriefingText {
  const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`)
  const sections: BriefingText['sections'] = []
  if (digest.budgets.length > 0) {
    const over = digest.budgets.filter((b) => b.percentAtPace > 100)
    sections.push({
      title:
        over.length > 0
          ? `Spending: ${over.length} budget${over.length > 1 ? 's' : ''} on pace to run over`
          : 'Spending is on track',
      body: clip(
        digest.budgets
          .map(
            (b) =>
              `${b.category}: ${b.percentSpent} % spent, ${b.dailyAllowance} ${b.currency} a day left for ${b.daysLeft} days.`,
          )
          .join(' '),
        BODY_MAX,
      ),
    })
  }
  if (digest.nextTrip) {
    const trip = digest.nextTrip
    sections.push({
      title: clip(`Next trip: ${trip.name}`, TITLE_MAX),
      body: clip(
        `${trip.destination}, leaving between ${trip.departFrom} and ${trip.departUntil} for ${trip.days} days. ${trip.clearWindow ? `Clear weather ${trip.clearWindow}.` : 'No clear weather window found yet.'}`,
        BODY_MAX,
      ),
    })
  }
  if (digest.maintenance.length > 0) {
    sections.push({
      title: `Maintenance: ${digest.maintenance.length} item${digest.maintenance.length > 1 ? 's' : ''} coming due`,
      body: clip(
        digest.maintenance
          .map(
            (m) =>
              `${m.name}${m.overdueByDays ? ` overdue by ${m.overdueByDays} days` : m.forecastDueAt ? ` due about ${m.forecastDueAt}` : m.dueAt ? ` due ${m.dueAt}` : ''}.`,
          )
          .join(' '),
        BODY_MAX,
      ),
    })
  }
  if (digest.fuel.readings > 0) {
    sections.push({
      title: 'Fuel habits',
      body:
        digest.fuel.averageRefuelAtPercent === null
          ? `${digest.fuel.readings} readings in 30 days, lowest ${digest.fuel.lowestPercent} %.`
          : `You refuelled ${digest.fuel.refuels} times in 30 days, on average at ${digest.fuel.averageRefuelAtPercent} %.`,
    })
  }
  if (sections.length === 0)
    sections.push({
      title: 'Nothing needs you today',
      body: 'No budgets, trips, maintenance or fuel readings to report yet.',
    })
  return {
    summary: clip(sections.map((s) => s.title).join('. '), SUMMARY_MAX),
    sections: sections.slice(0, SECTIONS_MAX),
  }
}

/** The same for every briefing: marked for Anthropic's prompt cache, so a sweep pays the cached rate. */
export const BRIEFING_INSTRUCTIONS = [
  'You are the analyst of a proactive assistant for people who live and travel in RVs and campervans.',
  "Each morning you write the traveller's briefing from a JSON digest of their data: budgets with the percent spent and the percent they end at if spending keeps its pace, their next trip with its clear-weather window, maintenance coming due with forecast dates, and their fuel habits.",
  `Write a one-line summary of at most ${SUMMARY_MAX} characters, then 1 to ${SECTIONS_MAX} sections, each a title of at most ${TITLE_MAX} characters and a body of at most ${BODY_MAX} characters.`,
  'Lead with what needs attention soonest. Say what to do, concretely, from the numbers given. Skip a topic the digest has nothing on.',
  'Use only the facts in the digest; never invent places, prices, dates or numbers. Plain text only: no markdown, no lists, no emoji.',
  'Reply with the JSON object only.',
].join('\n')

export function briefingRequest(
  userId: string,
  digest: Digest,
  options: Pick<TextRequest<BriefingText>, 'modelsAllowed' | 'retriesLeft' | 'signal'>,
): TextRequest<BriefingText> {
  return {
    purpose: 'briefing',
    userId,
    instructions: BRIEFING_INSTRUCTIONS,
    prompt: JSON.stringify(digest),
    shape: briefingTextShape,
    maxOutputTokens: 1200,
    template: () => templateBriefing(digest),
    ...options,
  }
}
