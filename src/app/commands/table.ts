/** Rows as aligned text columns, for commands a person reads; `--json` gives the same data whole. */
export function formatTable(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(none)\n'
  const columns = Object.keys(rows[0] ?? {})
  const cell = (value: unknown) =>
    value === null || value === undefined
      ? '-'
      : value instanceof Date
        ? value.toISOString()
        : typeof value === 'object'
          ? JSON.stringify(value)
          : String(value)
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => cell(row[column]).length)))
  const line = (values: string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  return `${[line(columns), ...rows.map((row) => line(columns.map((column) => cell(row[column]))))].join('\n')}\n`
}
