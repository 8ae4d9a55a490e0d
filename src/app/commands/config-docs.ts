import { EnvSchema } from '../../platform/config.js'

interface PropertySchema {
  description?: string
  default?: unknown
  secret?: boolean
}

const variables = () => Object.entries(EnvSchema.properties as unknown as Record<string, PropertySchema>)

/** The configuration table, rendered from the schema itself so the docs cannot drift from it. */
export function configDocs(): string {
  const required = new Set<string>((EnvSchema as { required?: string[] }).required ?? [])
  const rows = variables().map(([name, schema]) => {
    const fallback = schema.default !== undefined ? `\`${String(schema.default)}\`` : required.has(name) ? '' : 'unset'
    const description = `${schema.description ?? ''}${schema.secret ? ' (secret: never printed or logged)' : ''}`
    return `| \`${name}\` | ${description.replaceAll('|', '\\|')} | ${fallback} |`
  })
  return ['| variable | meaning | default |', '| --- | --- | --- |', ...rows].join('\n')
}

/** An env file with every variable commented out at its default, each with its meaning. */
export function envExample(): string {
  return variables()
    .map(([name, schema]) => {
      const note = `# ${schema.description ?? name}${schema.secret ? ' (secret)' : ''}`
      return `${note}\n# ${name}=${schema.default === undefined ? '' : String(schema.default)}`
    })
    .join('\n\n')
}
