import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { it } from 'node:test'
import { configDocs, envExample } from '../../src/app/commands/config-docs.js'
import { nextSteps } from '../../src/app/commands/next-steps.js'
import { loadConfig } from '../../src/platform/config.js'

const generatedTable = (file: string) =>
  /<!-- config:start[^>]*-->\n([\s\S]*?)\n<!-- config:end -->/.exec(
    readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8'),
  )?.[1]

it("docs/configuration.md's configuration table is the one the schema generates", () => {
  assert.equal(
    generatedTable('docs/configuration.md'),
    configDocs(),
    'run `npm run pam -- config docs` and paste its output into docs/configuration.md',
  )
})

it('the configuration table lives in docs/configuration.md only; the README points there', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  assert.equal(generatedTable('README.md'), undefined)
  assert.match(readme, /\(docs\/configuration\.md\)/)
})

it('.env.example lists every variable the schema has, at its default', () => {
  const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8')
  assert.ok(example.endsWith(`${envExample()}\n`), 'regenerate the tail of .env.example with `pam config example`')
})

/**
 * One spelling of PAM's commands, the one that works in a fresh clone: `npx pam <command>` (npx
 * runs the checkout's own bin, nothing is downloaded). In the image, `node bin/pam.js <command>`.
 */
const COMMANDS = ['start', 'api', 'worker', 'scheduler', 'migrate', 'inspect', 'call', 'retry', 'backup'].concat([
  'verify',
  'demo',
  'ai',
  'token',
  'config',
  'watch',
])
const bare = new RegExp(`(^|[^\\w/.-])pam (${COMMANDS.join('|')})\\b`, 'g')
const OTHER_SPELLINGS = /npm run (-s )?pam\b|npm run -s pam/

/** The places a command written in `text` is not spelled `npx pam` (or `node bin/pam.js`). */
function misspelled(text: string): string[] {
  return [...text.matchAll(bare)]
    .filter((match) => !text.slice(0, match.index + (match[1] ?? '').length).endsWith('npx '))
    .map((match) => text.slice(Math.max(0, match.index - 20), match.index + match[0].length + 10).replace(/\n/g, ' '))
    .concat(OTHER_SPELLINGS.test(text) ? [String(OTHER_SPELLINGS.exec(text)?.[0])] : [])
}

/** Code in Markdown: fenced blocks and inline spans, where commands are written to be typed. */
const codeOf = (markdown: string) =>
  [...markdown.matchAll(/```[\s\S]*?```|`[^`\n]+`/g)].map((match) => match[0]).join('\n')

const docs = [
  'README.md',
  '.env.example',
  ...readdirSync(new URL('../../docs/', import.meta.url)).map((f) => `docs/${f}`),
]
for (const file of docs.filter((name) => /\.md$|\.example$/.test(name))) {
  it(`${file} spells every command \`npx pam <command>\``, () => {
    const text = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8')
    assert.deepEqual(misspelled(file.endsWith('.md') ? codeOf(text) : text), [])
  })
}

it('what PAM prints (help, usage errors, advice) spells every command `npx pam <command>`', () => {
  const sources = readdirSync(new URL('../../src/', import.meta.url), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => [file, readFileSync(new URL(`../../src/${file}`, import.meta.url), 'utf8')] as const)
  const found = sources.flatMap(([file, text]) =>
    // Comments name commands for the reader of the code; everything else may reach a terminal.
    misspelled(text.replace(/^\s*(\/\/|\*|\/\*).*$/gm, '')).map((where) => `${file}: ${where}`),
  )
  assert.deepEqual(found, [])
  const ready = nextSteps(loadConfig({}))
  assert.match(ready, /TOKEN=\$\(npx pam token --user [0-9a-f-]{36}\)/)
  assert.match(ready, /npx pam watch --user [0-9a-f-]{36}\n/)
  assert.match(ready, /npx pam token --internal/)
})
