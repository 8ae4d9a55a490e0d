import { UnrecoverableError } from 'bullmq'
import Type, { type Static, type TSchema } from 'typebox'
import Compile, { type Validator } from 'typebox/compile'
import Value from 'typebox/value'
import {
  type FixedTaskName,
  isFixedTask,
  MONITOR_TASK_KINDS,
  type MonitorTaskKind,
  type TaskName,
} from './task-declarations.js'

/**
 * Alerts per notify.deliver job: a sweep page's alerts go out as a few jobs of set-based
 * statements, and a batch of sends still fits well within the job's time limit.
 */
export const DELIVERY_BATCH = 200

const Id = Type.String({ format: 'uuid' })

/** Scheduled runs and `pam call` without --args carry `{}`; whatever else is there is ignored. */
const Nothing = Type.Object({})
const ForUser = Type.Object({ userId: Id })
/** One page of a sweep (`runId` and `page` say which, to count it in its run), or of the drainer (neither). */
const Page = Type.Object({
  runId: Type.Optional(Type.String()),
  page: Type.Optional(Type.Integer()),
  userIds: Type.Array(Id),
})

export type NoPayload = Static<typeof Nothing>
export type UserPayload = Static<typeof ForUser>
export type PagePayload = Static<typeof Page>

/** Every monitor's tasks carry the same payloads, by kind. */
const MONITOR_PAYLOADS = { evaluate: ForUser, sweep: Nothing, page: Page } satisfies Record<MonitorTaskKind, TSchema>

/**
 * What each task's job carries, as data: `enqueue` is typed from it, and the consumer checks every
 * job against it once before the handler sees the payload.
 */
const PAYLOADS = {
  // Hold the job this long first: checks time limits, shutdown and stalled-job recovery.
  'ops.ping': Type.Object({ delayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000 })) }),
  'housekeeping.cleanup': Nothing,
  'evaluations.drain': Nothing,
  'ai.alert-text': Type.Object({ userId: Id, alertId: Id }),
  // userId: so the job's log lines name the traveller, as their requests' do.
  'ai.briefing': Type.Object({ briefingId: Id, userId: Type.Optional(Id) }),
  'ai.briefings.sweep': Nothing,
  // `{alertId}` is what workers before batches queued: still taken, so jobs waiting across an
  // upgrade are delivered.
  'notify.deliver': Type.Union([
    Type.Object({ alertIds: Type.Array(Id, { minItems: 1, maxItems: DELIVERY_BATCH }) }),
    Type.Object({ alertId: Id }),
  ]),
  'notify.confirm-email': ForUser,
  'notify.drain': Nothing,
  'notify.digests': Nothing,
} satisfies Record<FixedTaskName, TSchema>

/** A task's payload type: a monitor's task's from its kind (`monitor.fuel.evaluate` → `{userId}`). */
export type PayloadOf<T extends TaskName> = T extends `monitor.${string}.${infer Kind extends MonitorTaskKind}`
  ? Static<(typeof MONITOR_PAYLOADS)[Kind]>
  : T extends FixedTaskName
    ? Static<(typeof PAYLOADS)[T]>
    : never

function schemaOf(task: TaskName): TSchema {
  if (isFixedTask(task)) return PAYLOADS[task]
  const kind = MONITOR_TASK_KINDS.find((each) => task.endsWith(`.${each}`))
  if (!kind) throw new Error(`no payload schema for ${task}`)
  return MONITOR_PAYLOADS[kind]
}

/** Problems a job's data has as the payload of `task`, each naming its field (a few at most). */
export function payloadProblems(task: TaskName, data: unknown): string[] {
  return Value.Errors(schemaOf(task), data)
    .slice(0, 5)
    .map((error) => `${error.instancePath.slice(1) || 'payload'} ${error.message}`)
}

// Compiled once per schema: interpreting the schema for every job (Value.Check) was 3 % of a
// worker's time under writes.
const validators = new Map<TSchema, Validator>()

export const isPayloadOf = <T extends TaskName>(task: T, data: unknown): data is PayloadOf<T> => {
  const schema = schemaOf(task)
  let validator = validators.get(schema)
  if (!validator) {
    validator = Compile(schema)
    validators.set(schema, validator)
  }
  return validator.Check(data)
}

/** The job's data as its task's payload; a job that does not fit fails for good (a retry cannot fix it). */
export function parsePayload<T extends TaskName>(task: T, data: unknown): PayloadOf<T> {
  if (isPayloadOf(task, data)) return data
  throw new UnrecoverableError(`${task} payload: ${payloadProblems(task, data).join('; ')}`)
}
