/** One job per alert, however often its creation is seen. */
export const alertTextJobId = (alertId: string) => `alert-text-${alertId}`

/** One job per briefing, whether the API, the daily sweep or its re-queue adds it. */
export const briefingJobId = (briefingId: string) => `briefing-${briefingId}`
