import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { testEnv } from '../helpers/harness.js'
import { freePort } from '../helpers/process.js'
import { answers } from '../helpers/remote-api.js'
import { createTestDatabase } from '../helpers/services.js'

const PAM = fileURLToPath(new URL('../../bin/pam.js', import.meta.url))

// The signal a failed assertion in Node itself raises (node::Assert → abort). The mode is irrelevant.
describe('a fault signal raised in the process [postgres-only mode]', () => {
  let database: { url: string; drop(): Promise<void> }
  before(async () => {
    database = await createTestDatabase()
  })
  after(async () => {
    await database.drop()
  })

  it('ends the process at once instead of being handled as a shutdown request', async () => {
    const port = await freePort()
    // No core file: the test only cares how the process ends.
    const pam = spawn('sh', ['-c', `ulimit -c 0; exec "${process.execPath}" "${PAM}" api`], {
      env: {
        PATH: process.env.PATH ?? '',
        ...testEnv('postgres', database.url, { PORT: String(port), LOG_LEVEL: 'info' }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    pam.stdout?.on('data', (chunk) => {
      output += chunk
    })
    const exited = new Promise<string | number>((resolve) =>
      pam.on('exit', (code, signal) => resolve(signal ?? code ?? '')),
    )
    const reap = () => pam.kill('SIGKILL')
    process.once('exit', reap)
    try {
      await answers(`127.0.0.1:${port}`, '/health', 200)
      pam.kill('SIGABRT')
      assert.equal(await exited, 'SIGABRT', output)
      assert.doesNotMatch(output, /shutting down/)
    } finally {
      pam.kill('SIGKILL')
      process.off('exit', reap)
    }
  })
})
