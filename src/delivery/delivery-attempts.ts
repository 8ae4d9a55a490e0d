/** Tries before a transiently failing delivery is recorded as failed; notify.deliver's retries match it. */
export const DELIVERY_ATTEMPTS = 6
