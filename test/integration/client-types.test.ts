import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { it } from 'node:test'
import { GENERATED_FILE, generateTypes } from '../../client/scripts/generate-types.js'

it("the client's checked-in types are what the server's OpenAPI document generates (else: npm run client:types)", async () => {
  const fresh = await generateTypes()
  const checkedIn = readFileSync(GENERATED_FILE, 'utf8')
  if (fresh === checkedIn) return
  const freshLines = fresh.split('\n')
  const line = checkedIn.split('\n').findIndex((text, index) => text !== freshLines[index])
  assert.fail(
    `client/src/openapi.ts differs from the server's document from line ${line + 1} ` +
      `(checked in: ${JSON.stringify(checkedIn.split('\n')[line])}, generated: ${JSON.stringify(freshLines[line])}): ` +
      'run `npm run client:types` and commit the result',
  )
})
