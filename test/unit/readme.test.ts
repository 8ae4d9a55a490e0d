import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { it } from 'node:test'
import { configDocs } from '../../src/commands/config-docs.js'

it("README's configuration table is the one the schema generates", () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const table = /<!-- config:start[^>]*-->\n([\s\S]*?)\n<!-- config:end -->/.exec(readme)?.[1]
  assert.equal(table, configDocs(), 'run `npm run pam -- config docs` and paste its output into README.md')
})
