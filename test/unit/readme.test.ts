import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { it } from 'node:test'
import { configDocs, envExample } from '../../src/commands/config-docs.js'

const generatedTable = (file: string) =>
  /<!-- config:start[^>]*-->\n([\s\S]*?)\n<!-- config:end -->/.exec(
    readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8'),
  )?.[1]

for (const file of ['README.md', 'docs/configuration.md']) {
  it(`${file}'s configuration table is the one the schema generates`, () => {
    assert.equal(
      generatedTable(file),
      configDocs(),
      `run \`npm run pam -- config docs\` and paste its output into ${file}`,
    )
  })
}

it('.env.example lists every variable the schema has, at its default', () => {
  const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8')
  assert.ok(example.endsWith(`${envExample()}\n`), 'regenerate the tail of .env.example with `pam config example`')
})
