/** The daily spending caps, in dollars: per user and for the whole deployment. */
export interface Caps {
  userUsd: number
  deploymentUsd: number
}

export interface Spent {
  user: number
  deployment: number
}

/**
 * Whether `amount` more may be spent today: the user's cap is checked first, so a traveller who
 * used up their own share is told so even on a day the deployment is also spent.
 */
export function budgetRefusal(
  spent: Spent,
  amount: number,
  caps: Caps,
): 'user_budget' | 'deployment_budget' | undefined {
  // Compared in millionths of a cent, so float noise cannot refuse the call that fits exactly.
  const fits = (used: number, cap: number) => Math.round((used + amount) * 1e8) <= Math.round(cap * 1e8)
  if (!fits(spent.user, caps.userUsd)) return 'user_budget'
  if (!fits(spent.deployment, caps.deploymentUsd)) return 'deployment_budget'
  return undefined
}

/** Caps are per UTC day: one day for every worker and operator, whatever their timezone. */
export const utcDay = (now: Date) => now.toISOString().slice(0, 10)

export const nextUtcDay = (now: Date) =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1))

export const DEPLOYMENT_SCOPE = 'deployment'
export const userScope = (userId: string) => `user:${userId}`
