import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { callApi } from '../helpers/remote-api.js'
import type { Traveller } from './traveller.js'

/** What a fuel reading is meant to make of its vehicle's alert. */
export type FuelState = 'clear' | 'medium' | 'high'

/**
 * One fuel reading the load wrote, with every answer it got. Accepted once a 201 came (the
 * first, or a replay of it); refused when an answer said it never will be (a 4xx that a retry
 * cannot change).
 */
export interface Write {
  userId: string
  vehicleId: string
  key: string
  percent: number
  /** Sent as observedAt: the reading's identity in the database and in its alert's data. */
  observedAt: string
  state: FuelState
  attempts: number
  /** The start of the attempt that was accepted, and when its answer came. */
  acceptedSentAt?: number
  acceptedAt?: number
  readingId?: string
  refused?: string
}

// Each vehicle cycles clear → medium → high: every reading changes its state, so every low
// reading opens (or escalates) an alert and every clear one resolves it; high ones are emailed.
const STATES: readonly FuelState[] = ['clear', 'medium', 'high']
/** A retry waits this, doubling to the cap, on the next API. */
const RETRY_MS = { first: 200, cap: 2_000 }
/** Answers a retry with the same key can change: none, a timeout, in progress, rate limited, 5xx. */
const retryable = (status: number) =>
  status === 0 || status === 408 || status === 409 || status === 429 || status >= 500

/**
 * Percent of the `cycle`-th reading in `state`: one decimal, and a high reading's value repeats
 * only every 100 cycles, so an alert email's subject ("Fuel at 4.9 % in Van 1") names its alert.
 */
export function percentFor(state: FuelState, cycle: number): number {
  const step = ((cycle * 7) % 100) / 10
  return state === 'high' ? step : state === 'medium' ? 10 + step : 40 + ((cycle * 13) % 550) / 10
}

export interface LoadOptions {
  /** Readings offered per second over all vehicles. */
  rate: number
  /** Stop each vehicle after this many readings (the self-test); default: until stopped. */
  perVehicle?: number
}

/**
 * A steady, idempotent write load: `rate` fuel readings a second, round-robin over the vehicles
 * that have no reading in flight (a vehicle's readings are sent in order, each retried with its
 * Idempotency-Key, on the next API, until accepted). Nothing is lost from the record.
 */
export function startLoad(travellers: readonly Traveller[], bases: () => string[], options: LoadOptions) {
  const vehicles = travellers.flatMap((traveller) =>
    traveller.vehicles.map((vehicle) => ({ traveller, vehicle, sent: 0, busy: false })),
  )
  const writes: Write[] = []
  const statuses = new Map<number, number>()
  let api = 0
  let running = true
  let abandoned = false
  let skippedTicks = 0
  const inFlight = new Set<Promise<void>>()

  const send = async (write: Write, token: string) => {
    for (let retry = 0; !abandoned; retry++) {
      const list = bases()
      const sentAt = Date.now()
      write.attempts++
      const answer = await callApi(
        list[api++ % list.length] as string,
        token,
        'POST',
        `/v1/vehicles/${write.vehicleId}/fuel-readings`,
        { percent: write.percent, observedAt: write.observedAt },
        { 'idempotency-key': write.key },
      )
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
      if (answer.status === 201) {
        Object.assign(write, { acceptedSentAt: sentAt, acceptedAt: Date.now(), readingId: answer.body?.id })
        return
      }
      if (!retryable(answer.status)) {
        write.refused = `${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`
        return
      }
      await sleep(Math.min(RETRY_MS.cap, RETRY_MS.first * 2 ** retry) * (0.5 + Math.random() / 2))
    }
  }

  const limit = options.perVehicle ?? Number.POSITIVE_INFINITY
  const tick = () => {
    const free = vehicles.filter((v) => !v.busy && v.sent < limit)
    const next = free.sort((a, b) => a.sent - b.sent)[0]
    if (!next) {
      skippedTicks++
      return
    }
    const state = STATES[next.sent % STATES.length] as FuelState
    const write: Write = {
      userId: next.traveller.id,
      vehicleId: next.vehicle.id,
      key: randomUUID(),
      percent: percentFor(state, Math.floor(next.sent / STATES.length)),
      observedAt: new Date().toISOString(),
      state,
      attempts: 0,
    }
    next.sent++
    next.busy = true
    writes.push(write)
    const done = send(write, next.traveller.token).finally(() => {
      next.busy = false
      inFlight.delete(done)
    })
    inFlight.add(done)
  }

  const pacing = (async () => {
    const interval = 1000 / options.rate
    for (let due = Date.now(); running; due += interval) {
      await sleep(Math.max(0, due - Date.now()))
      if (running) tick()
    }
  })()

  return {
    writes,
    statuses,
    get skippedTicks() {
      return skippedTicks
    },
    /** Whether every vehicle has sent `perVehicle` readings and none is in flight. */
    finished: () => inFlight.size === 0 && vehicles.every((v) => v.sent >= limit),
    /**
     * No new readings; resolves when those in flight were answered for good, or at `deadline`
     * (then they are given up, and count as unfinished).
     */
    async stop(deadline: number): Promise<void> {
      running = false
      await pacing
      while (inFlight.size > 0 && Date.now() < deadline) await sleep(100)
      abandoned = true
    },
  }
}

export type Load = ReturnType<typeof startLoad>
