/**
 * A circuit breaker per provider, in each worker process: after `threshold` failures in a row the
 * provider is skipped for `cooldownMs`; then one call is let through, and its outcome closes or
 * reopens the circuit. The clock is passed in, so the states are tested without waiting.
 */
export interface BreakerOptions {
  threshold: number
  cooldownMs: number
}

export const DEFAULT_BREAKER: BreakerOptions = { threshold: 5, cooldownMs: 60_000 }

interface State {
  failures: number
  openUntil: number
  trial: boolean
}

export class Breakers {
  private readonly states = new Map<string, State>()

  constructor(private readonly options: BreakerOptions = DEFAULT_BREAKER) {}

  /** Whether a call to `provider` may be made now; after a cooldown, only one until it reports. */
  allow(provider: string, now: number): boolean {
    const state = this.states.get(provider)
    if (!state || state.failures < this.options.threshold) return true
    if (now < state.openUntil || state.trial) return false
    state.trial = true
    return true
  }

  /** A call allowed as the trial was not made or told nothing (budget refused, rate limited): the next may try. */
  release(provider: string): void {
    const state = this.states.get(provider)
    if (state) state.trial = false
  }

  succeeded(provider: string): void {
    this.states.delete(provider)
  }

  failed(provider: string, now: number): void {
    const state = this.states.get(provider) ?? { failures: 0, openUntil: 0, trial: false }
    state.failures += 1
    state.trial = false
    if (state.failures >= this.options.threshold) state.openUntil = now + this.options.cooldownMs
    this.states.set(provider, state)
  }
}
