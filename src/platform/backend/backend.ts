import type { IQueueBackend, JobProgress, Processor, Queue, Worker, WorkerOptions } from 'bullmq'
import type { Cluster, Redis } from 'ioredis'
import type { QueueName } from './queue-names.js'

// The connection type differs per backend (ioredis, pg) and BullMQ's classes are invariant in
// it, so callers see queues and workers with the connection type erased.
// biome-ignore lint/suspicious/noExplicitAny: see above
type AnyConnection = any
export type PamQueue = Queue<unknown, unknown, string, unknown, unknown, string, IQueueBackend, AnyConnection>
export type PamWorker = Worker<unknown, unknown, string, IQueueBackend, JobProgress, AnyConnection>
/** A single Redis, or a Redis Cluster (REDIS_CLUSTER). */
export type RedisClient = Redis | Cluster
export type WorkerSettings = Omit<WorkerOptions, 'connection' | 'prefix' | 'autorun'>

/** A message as the bus carries it: JSON text, made by `jsonText` (or joined from such texts). */
export type JsonText = string & { readonly __jsonText: true }

/** Serializes a bus message. */
export const jsonText = (message: unknown) => JSON.stringify(message) as JsonText

/**
 * Cross-process fan-out: Redis pub/sub, or PostgreSQL LISTEN/NOTIFY. At-most-once, like both: a
 * message published while a subscriber's connection is down never reaches it. `onGap` is called
 * each time the subscription is live again after (re)connecting, so the subscriber can read back
 * from the store what it may have missed.
 */
export interface Bus {
  /**
   * Publishes `payloads` on `channel`, in order, each a message as JSON text (a subscriber gets it
   * parsed): the caller serializes, as it often measured the text already. A sweep's page of
   * alerts is dozens of messages, sent together (PostgreSQL: in one transaction). Equal messages
   * in one call may reach a subscriber once (NOTIFY folds them).
   */
  publish(channel: string, ...payloads: JsonText[]): Promise<void>
  /** Resolves once the subscription is live; the returned function ends it. */
  subscribe(
    channel: string,
    onMessage: (message: unknown) => void,
    options?: { onGap?: () => void },
  ): Promise<() => Promise<void>>
  close(): Promise<void>
}

/**
 * The few things that differ between Redis mode and Postgres-only mode. Everything above this
 * (API, jobs, monitors, alert store) is written once against it.
 */
export interface QueueBackend {
  readonly kind: 'redis' | 'postgres'
  readonly bus: Bus
  createQueue(name: QueueName): PamQueue
  createWorker(name: QueueName, processor: Processor, settings: WorkerSettings): PamWorker
  /**
   * Redis mode only: closes a worker that stopped taking jobs (jobs/worker-stall.ts) without
   * waiting for it, which may never end, and drops its connection at once, so it takes no job again.
   */
  retireWorker?(worker: PamWorker): void
  /**
   * Redis mode only: a fail-fast connection for small shared state (rate-limit counters, the
   * provider cache). Postgres-only mode keeps that state in memory or in PostgreSQL instead.
   */
  readonly redis?: RedisClient
  /**
   * Redis mode only, bounded by a timeout: throws when Redis does not answer, or answers without
   * the mark markInUse left (it lost its data). Postgres-only mode has no Redis to ask.
   */
  pingRedis?(timeoutMs: number): Promise<void>
  /** Redis mode only: marks this Redis as set up by PAM (schedules in place). */
  markInUse?(): Promise<void>
  /**
   * Postgres-only mode: throws while BullMQ's schema cannot be used (not migrated yet, database
   * unreachable), when no producer can enqueue. Redis mode answers that with pingRedis.
   */
  checkQueueStore?(): Promise<void>
  /** Creates or upgrades what the backend keeps in its store (BullMQ's schema in PostgreSQL). */
  migrate(): Promise<void>
  /** Warns about store settings that lose jobs (Redis eviction). */
  checkSettings(): Promise<void>
  close(): Promise<void>
}
