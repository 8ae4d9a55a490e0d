import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

const routesRoot = new URL('../../src/http/', import.meta.url).pathname

function sources(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name)
    if (entry.isDirectory()) return sources(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

// A route's params, query and body get their types from its schema (the TypeBox type provider);
// a cast would let the handler's idea of the input drift from what the validator checked.
test('no route handler casts its params, query or body', () => {
  const casts = sources(routesRoot).flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, index) =>
        /request\.(params|query|body)\s+as\b/.test(line) ? [`${file.slice(routesRoot.length)}:${index + 1}`] : [],
      ),
  )
  assert.deepEqual(casts, [])
})
