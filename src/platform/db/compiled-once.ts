import { CompiledQuery, type QueryExecutorProvider } from 'kysely'
import { type Db, preparedText } from './database.js'

/** Stands in for one of a statement's values while `compiledOnce` builds it. */
class Slot {
  constructor(readonly name: string) {}
}

// Any property read is the stand-in of the value of that name.
const slots = new Proxy({}, { get: (_target, name) => new Slot(String(name)) })

/**
 * A statement Kysely builds and compiles once for each shape it takes, then only binds values to:
 * for the hottest statements, where building and compiling the query again on every request cost about
 * a tenth of the request. `build` is given the shape and stand-ins for the values, which must reach
 * Kysely as they are (a comparison's operand, a value in sql``), never be computed with; whatever
 * changes the statement's text belongs in the shape, whose key names it. Shapes must be few: each
 * is a text kept (and prepared by every connection, if it ends in `prepared`). `db` builds it: the
 * same dialect every time. A query builder or an sql`` template, which Kysely otherwise compiles on
 * every execute, both do.
 */
export function compiledOnce<Shape, Values extends Record<string, unknown>, Row>(
  keyOf: (shape: Shape) => string,
  build: (db: Db, shape: Shape, values: Values) => { compile(executor: QueryExecutorProvider): CompiledQuery<Row> },
  /**
   * Whether a run with these values is one each connection also prepares (database.ts'
   * `prepared`), so PostgreSQL plans it once: a run of one size (a write's one user), whose one
   * plan suits every such run. A sweep page's hundreds of users are planned for their own number
   * each time. The two are kept apart as two texts of the shape.
   */
  preparedFor: (values: Values) => boolean = () => false,
): (db: Db, shape: Shape, values: Values) => CompiledQuery<Row> {
  const statements = new Map<string, { sql: string; parameters: readonly unknown[] }>()
  return (db, shape, values) => {
    const prepare = preparedFor(values)
    const key = prepare ? `${keyOf(shape)}:prepared` : keyOf(shape)
    let statement = statements.get(key)
    if (!statement) {
      const compiled = build(db, shape, slots as Values).compile(db)
      statement = { sql: prepare ? preparedText(compiled.sql) : compiled.sql, parameters: compiled.parameters }
      statements.set(key, statement)
    }
    return CompiledQuery.raw(
      statement.sql,
      statement.parameters.map((parameter) => {
        if (!(parameter instanceof Slot)) return parameter
        // A name the statement uses but the values lack would be bound as NULL without a word.
        if (!Object.hasOwn(values, parameter.name)) throw new Error(`no value for ${parameter.name} (${key})`)
        return values[parameter.name]
      }),
    ) as CompiledQuery<Row>
  }
}
