import { CompiledQuery, type QueryExecutorProvider, sql } from 'kysely'
import { type Db, preparedText } from './database.js'

/** Stands in for one of a statement's values (or one element of an array value) while `compiledOnce` builds it. */
class Slot {
  constructor(
    readonly name: string,
    readonly element?: number,
  ) {}
}

/**
 * Arrays up to this long are spelled out in a prepared statement's text, one parameter an element.
 * PostgreSQL plans an array parameter as ten elements whatever it holds, so for a write's
 * one-element arrays its plan made without the values (a generic plan) looked dearer than one made
 * for them, and it planned every run afresh: 100–180 µs of its CPU a statement, several times what
 * running the statement cost. `ARRAY[$1]` is planned as what it is, and the plan is made once per
 * connection. Longer arrays stay one parameter (and are planned each run, as before): each
 * combination of lengths is a text of its own.
 */
const SPELLED_OUT = 4

/** Whether a prepared text spells the value out, one parameter an element. */
const spelled = (value: unknown): value is readonly unknown[] => Array.isArray(value) && value.length <= SPELLED_OUT

/** What of `values` a prepared text depends on: the lengths of the arrays it spells out. */
const spelledLengths = (values: Record<string, unknown>) =>
  Object.entries(values)
    .flatMap(([name, value]) => (spelled(value) ? [`${name}=${value.length}`] : []))
    .join()

/**
 * The stand-ins `build` is given: any property read is the slot of the value of that name, except
 * the arrays of `spelledOut` (a prepared run's values) that are spelled out: `ARRAY[…]` of one slot
 * an element.
 */
const standIns = (spelledOut: Record<string, unknown>) =>
  new Proxy(
    {},
    {
      get: (_target, key) => {
        const name = String(key)
        const value = spelledOut[name]
        if (!spelled(value)) return new Slot(name)
        return sql`array[${sql.join(
          value.map((_, at) => new Slot(name, at)),
          sql`, `,
        )}]`
      },
    },
  )

/**
 * A statement Kysely builds and compiles once for each shape it takes, then only binds values to:
 * for the hottest statements, where building and compiling the query again on every request cost about
 * a tenth of the request. `build` is given the shape and stand-ins for the values, which must reach
 * Kysely as they are (a comparison's operand, a value in sql``), never be computed with; whatever
 * changes the statement's text belongs in the shape, whose key names it. Shapes must be few: each
 * is a text kept (and prepared by every connection, if it ends in `prepared`). `db` builds it: the
 * same dialect every time. A query builder or an sql`` template, which Kysely otherwise compiles on
 * every execute, both do. An array value is always followed by its cast (`${ids}::uuid[]`): a
 * prepared run spells it out as `ARRAY[…]`, which takes its type from that cast (an empty one
 * has no other).
 */
export function compiledOnce<Shape, Values extends Record<string, unknown>, Row>(
  keyOf: (shape: Shape) => string,
  build: (db: Db, shape: Shape, values: Values) => { compile(executor: QueryExecutorProvider): CompiledQuery<Row> },
  /**
   * Whether a run with these values is one each connection also prepares (database.ts'
   * `prepared`), so PostgreSQL plans it once: a run of one size (a write's one user), whose one
   * plan suits every such run. A sweep page's hundreds of users are planned for their own number
   * each time. The two are kept apart as texts of the shape, the prepared one a text for each
   * combination of its short arrays' lengths (SPELLED_OUT).
   */
  preparedFor: (values: Values) => boolean = () => false,
): (db: Db, shape: Shape, values: Values) => CompiledQuery<Row> {
  const statements = new Map<string, { sql: string; parameters: readonly unknown[] }>()
  return (db, shape, values) => {
    const prepare = preparedFor(values)
    const key = prepare ? `${keyOf(shape)}:prepared:${spelledLengths(values)}` : keyOf(shape)
    let statement = statements.get(key)
    if (!statement) {
      const compiled = build(db, shape, standIns(prepare ? values : {}) as Values).compile(db)
      statement = { sql: prepare ? preparedText(compiled.sql) : compiled.sql, parameters: compiled.parameters }
      statements.set(key, statement)
    }
    return CompiledQuery.raw(
      statement.sql,
      statement.parameters.map((parameter) => {
        if (!(parameter instanceof Slot)) return parameter
        // A name the statement uses but the values lack would be bound as NULL without a word.
        if (!Object.hasOwn(values, parameter.name)) throw new Error(`no value for ${parameter.name} (${key})`)
        const value = values[parameter.name]
        return parameter.element === undefined ? value : (value as unknown[])[parameter.element]
      }),
    ) as CompiledQuery<Row>
  }
}
