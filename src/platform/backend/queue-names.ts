/** The queues PAM's workers consume, as docs/api.md names them (deployments route workers by them). */
export const QUEUE_NAMES = ['notifications', 'analytics', 'maintenance'] as const
export type QueueName = (typeof QUEUE_NAMES)[number]
