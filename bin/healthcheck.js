#!/usr/bin/env node
// The image's HEALTHCHECK, for every role: `node bin/healthcheck.js [api|worker|scheduler]`.
// Each role is checked on its own port only — the API on PORT, a worker or scheduler on
// METRICS_PORT — and must answer /health as itself (`"service": "pam-worker"`), so where roles
// share a network namespace (a pod, a Fly machine) a worker never passes because the API answers.
// Without an argument the role is the one PID 1 runs (`node bin/pam.js worker`), as in the image.
import { readFileSync } from 'node:fs'

const ROLES = ['api', 'worker', 'scheduler']

function roleOfPid1() {
  try {
    const argv = readFileSync('/proc/1/cmdline', 'utf8').split('\0')
    const at = argv.findIndex((arg) => arg.endsWith('bin/pam.js'))
    return at === -1 ? undefined : argv[at + 1]
  } catch {
    return undefined
  }
}

function fail(message) {
  process.stderr.write(`healthcheck: ${message}\n`)
  process.exit(1)
}

const role = process.argv[2] ?? roleOfPid1()
if (!ROLES.includes(role))
  fail(`cannot tell which role to check (${role ?? 'none found'}): pass api, worker or scheduler`)
const port = role === 'api' ? (process.env.PORT ?? '8000') : process.env.METRICS_PORT
if (!port) fail(`a ${role} answers /health only on METRICS_PORT, which is not set`)

try {
  const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(3000) })
  const body = await response.json().catch(() => ({}))
  if (!response.ok) fail(`/health on port ${port} answered ${response.status}`)
  if (body.service !== `pam-${role}`)
    fail(`port ${port} is served by ${body.service ?? 'something else'}, not pam-${role}`)
} catch (error) {
  fail(`/health on port ${port}: ${error.message}`)
}
