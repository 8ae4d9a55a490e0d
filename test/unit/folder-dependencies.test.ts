import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const SRC = fileURLToPath(new URL('../../src/', import.meta.url))

/**
 * The top-level folders of src/, lowest first: a folder may import from the folders before it,
 * never from one after it. The pipeline reads left to right (a write in `travellers` is marked
 * and evaluated in `monitoring`, its alert sent by `delivery`; `ai` writes texts in the language
 * the delivery settings name); `jobs` runs the work of the folders before it, `operations` watches
 * the jobs, `http` and `app` sit on top.
 */
const LAYERS = [
  'platform',
  'travellers',
  'providers',
  'monitoring',
  'delivery',
  'ai',
  'jobs',
  'operations',
  'http',
  'app',
] as const

function sources(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name)
    if (entry.isDirectory()) return sources(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

const topFolder = (file: string) => relative(SRC, file).split('/')[0] ?? ''

/** Every import between two top-level folders, as `from-file -> to-file`. */
function crossings(): Array<{ from: string; to: string; edge: string }> {
  return sources(SRC).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].flatMap((match) => {
      const target = resolve(dirname(file), match[1] ?? '')
      const [from, to] = [topFolder(file), topFolder(target)]
      return from === to ? [] : [{ from, to, edge: `${relative(SRC, file)} -> ${relative(SRC, target)}` }]
    }),
  )
}

test('src/ holds only the layered folders, each a folder', () => {
  const entries = readdirSync(SRC, { withFileTypes: true })
  assert.deepEqual(
    entries.filter((entry) => !entry.isDirectory()).map((entry) => entry.name),
    [],
  )
  assert.deepEqual(entries.map((entry) => entry.name).sort(), [...LAYERS].sort())
})

test('imports between top-level folders point one way: down the list of layers', () => {
  const rank = (folder: string) => LAYERS.indexOf(folder as (typeof LAYERS)[number])
  const upward = crossings()
    .filter(({ from, to }) => rank(to) > rank(from))
    .map(({ edge }) => edge)
  assert.deepEqual(upward, [])
})

test('the check sees imports (it would catch a folder importing one above it)', () => {
  const seen = new Set(crossings().map(({ from, to }) => `${from}->${to}`))
  for (const edge of ['http->monitoring', 'jobs->delivery', 'monitoring->travellers', 'app->platform'])
    assert.ok(seen.has(edge), edge)
})
