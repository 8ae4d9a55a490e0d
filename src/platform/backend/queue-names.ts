/** The queues PAM's workers consume, named as in the seeds' Celery routing. */
export const QUEUE_NAMES = ['notifications', 'analytics', 'maintenance'] as const
export type QueueName = (typeof QUEUE_NAMES)[number]
