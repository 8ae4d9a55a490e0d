import { EnvSchema } from '../config.js'

interface PropertySchema {
  description?: string
  default?: unknown
  secret?: boolean
}

/** The configuration table, rendered from the schema itself so the docs cannot drift from it. */
export function configDocs(): string {
  const required = new Set<string>((EnvSchema as { required?: string[] }).required ?? [])
  const rows = Object.entries(EnvSchema.properties as unknown as Record<string, PropertySchema>).map(
    ([name, schema]) => {
      const fallback =
        schema.default !== undefined ? `\`${String(schema.default)}\`` : required.has(name) ? '' : 'unset'
      const description = `${schema.description ?? ''}${schema.secret ? ' (secret: never printed or logged)' : ''}`
      return `| \`${name}\` | ${description.replaceAll('|', '\\|')} | ${fallback} |`
    },
  )
  return ['| variable | meaning | default |', '| --- | --- | --- |', ...rows].join('\n')
}
