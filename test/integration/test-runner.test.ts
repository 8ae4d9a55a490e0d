import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { freePort } from '../helpers/process.js'

const RUNNER = fileURLToPath(new URL('../run.ts', import.meta.url))

/** `npm test` itself, with `env` over this environment; its exit code, output and time taken. */
function runTests(env: Record<string, string>) {
  const started = Date.now()
  const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, 'test/unit/routing.test.ts'], {
    // Not as a test file of this run: a runner of its own, with its own run id.
    env: { ...process.env, NODE_TEST_CONTEXT: '', PAM_TEST_RUN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => {
    output += chunk
  })
  child.stderr.on('data', (chunk) => {
    output += chunk
  })
  return new Promise<{ code: number | null; output: string; ms: number }>((resolve) =>
    child.on('exit', (code) => resolve({ code, output, ms: Date.now() - started })),
  )
}

describe('npm test', () => {
  it('stops at once, naming the server without its password, when TEST_DATABASE_URL does not answer', async () => {
    const port = await freePort()
    const run = await runTests({ TEST_DATABASE_URL: `postgres://postgres:hunter2@127.0.0.1:${port}/test` })
    assert.equal(run.code, 1, run.output)
    assert.match(
      run.output,
      new RegExp(`TEST_DATABASE_URL \\(postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${port}/test\\) does not answer`),
    )
    assert.ok(!run.output.includes('hunter2'), 'the password was printed')
    assert.ok(run.ms < 60_000, `took ${run.ms} ms`)
  })

  it('stops at once when TEST_REDIS_URL does not answer', async () => {
    const port = await freePort()
    const run = await runTests({ TEST_REDIS_URL: `redis://127.0.0.1:${port}` })
    assert.equal(run.code, 1, run.output)
    assert.match(run.output, new RegExp(`TEST_REDIS_URL \\(redis://127\\.0\\.0\\.1:${port}\\) does not answer`))
  })
})
