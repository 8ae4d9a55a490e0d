import { parseArgs } from 'node:util'
import WebSocket from 'ws'
import { QUEUE_NAMES } from '../../platform/backend/queue-names.js'
import { messageOf } from '../../platform/errors/error-message.js'
import { UsageError } from './ops-deps.js'

interface Check {
  name: string
  ok: boolean
  detail: string
}

const SLOW_MS = 1_000
const TIMEOUT_MS = 10_000

async function timed(url: string, init: RequestInit = {}) {
  const started = performance.now()
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) })
  const body = await response.text()
  return { response, body, ms: Math.round(performance.now() - started) }
}

const json = (text: string): Record<string, unknown> => {
  try {
    return JSON.parse(text) as Record<string, unknown>
  } catch {
    return {}
  }
}

/**
 * With a token the stream must say hello; without one it must refuse the upgrade with 401
 * (which still proves the endpoint is there and authenticates before upgrading).
 */
function handshake(url: string, token: string | undefined): Promise<Omit<Check, 'name'>> {
  const started = performance.now()
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { headers: token ? { authorization: `Bearer ${token}` } : {} })
    const done = (result: Omit<Check, 'name'>) => {
      clearTimeout(timer)
      socket.terminate()
      resolve(result)
    }
    const timer = setTimeout(() => done({ ok: false, detail: `no hello within ${TIMEOUT_MS} ms` }), TIMEOUT_MS)
    socket.on('message', (data) => {
      const hello = json(String(data)).type === 'hello'
      done({
        ok: hello,
        detail: hello ? `hello in ${Math.round(performance.now() - started)} ms` : `first message: ${String(data)}`,
      })
    })
    socket.on('unexpected-response', (request, response) => {
      request.destroy()
      const refused = !token && response.statusCode === 401
      done({
        ok: refused,
        detail: refused
          ? 'refuses an upgrade without a token (401); pass --token to see hello'
          : `upgrade answered ${response.statusCode}`,
      })
    })
    socket.on('error', (error) => done({ ok: false, detail: error.message }))
  })
}

/**
 * `pam verify <base-url> [--token T] [--internal-token T] [--origin O]`: a quick
 * validation of a deployment, a line per check, exit 1 when any fails. Checks that need a token
 * or an origin are reported as skipped without one.
 */
export async function runVerifyCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { token: { type: 'string' }, 'internal-token': { type: 'string' }, origin: { type: 'string' } },
    allowPositionals: true,
  })
  const base = positionals[0]?.replace(/\/+$/, '')
  if (!base || !/^https?:\/\/\S+$/.test(base)) {
    throw new UsageError('usage: npx pam verify <base-url> [--token T] [--internal-token T] [--origin O]')
  }
  const checks: Check[] = []
  const skipped: string[] = []
  const check = async (name: string, run: () => Promise<Omit<Check, 'name'>>) => {
    try {
      checks.push({ name, ...(await run()) })
    } catch (error) {
      checks.push({ name, ok: false, detail: `no answer: ${messageOf(error)}` })
    }
  }

  await check('health', async () => {
    const { response, body, ms } = await timed(`${base}/health`)
    const status = json(body).status
    return {
      ok: response.status === 200 && status === 'healthy',
      detail: `${response.status} ${String(status)} in ${ms} ms`,
    }
  })

  await check('ready', async () => {
    const { response, body } = await timed(`${base}/ready`)
    const ready = json(body)
    const components = (ready.components ?? {}) as Record<string, boolean | null>
    const parts = Object.entries(components).map(([name, up]) => `${name} ${up === null ? 'n/a' : up ? 'up' : 'DOWN'}`)
    const missing = (ready.queues_without_workers as string[] | undefined) ?? []
    return {
      ok: response.status === 200 && ready.ready === true,
      detail: `${response.status}: ${parts.join(', ')}${missing.length ? `; no worker for ${missing.join(', ')}` : ''}`,
    }
  })

  await check('response time', async () => {
    const times: number[] = []
    for (let i = 0; i < 5; i++) times.push((await timed(`${base}/health`)).ms)
    const median = times.sort((a, b) => a - b)[2] ?? 0
    return { ok: median < SLOW_MS, detail: `median of 5 GET /health: ${median} ms (limit ${SLOW_MS} ms)` }
  })

  await check('docs', async () => {
    const page = await timed(`${base}/docs`)
    const document = await timed(`${base}/docs/json`)
    const version = json(document.body).openapi
    return {
      ok: page.response.status === 200 && typeof version === 'string',
      detail: `/docs ${page.response.status}, /docs/json ${document.response.status} (OpenAPI ${String(version)})`,
    }
  })

  if (values.origin) {
    const origin = values.origin
    await check('cors', async () => {
      const { response } = await timed(`${base}/v1/me`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      })
      const allowed = response.headers.get('access-control-allow-origin')
      return { ok: allowed === origin, detail: `${origin} → Access-Control-Allow-Origin: ${allowed ?? '(none)'}` }
    })
  } else skipped.push('cors (needs --origin)')

  await check('websocket', () => handshake(`${base.replace(/^http/, 'ws')}/v1/stream`, values.token))

  if (values.token) {
    const token = values.token
    await check('auth and rate limits', async () => {
      const { response } = await timed(`${base}/v1/me`, { headers: { authorization: `Bearer ${token}` } })
      const limit = response.headers.get('x-ratelimit-limit')
      const remaining = response.headers.get('x-ratelimit-remaining')
      return {
        ok: response.status === 200 && limit !== null && remaining !== null,
        detail: `GET /v1/me ${response.status}, x-ratelimit-limit ${limit ?? '(none)'}, remaining ${remaining ?? '(none)'}`,
      }
    })
  } else skipped.push('auth and rate limits (needs --token)')

  if (values['internal-token']) {
    const headers = { authorization: `Bearer ${values['internal-token']}` }
    await check('workers', async () => {
      const { response, body } = await timed(`${base}/internal/worker/heartbeat`, { headers })
      const workers = ((json(body).workers ?? []) as { role: string; queues: string[] }[]).filter(
        (w) => w.role === 'worker',
      )
      const uncovered = QUEUE_NAMES.filter((queue) => !workers.some((w) => w.queues.includes(queue)))
      return {
        ok: response.status === 200 && uncovered.length === 0,
        detail: `${response.status}: ${workers.length} live worker(s)${uncovered.length ? `; none for ${uncovered.join(', ')}` : ''}`,
      }
    })
    await check('schedules', async () => {
      const { response, body } = await timed(`${base}/internal/schedules`, { headers })
      const schedules = (json(body).schedules ?? []) as { id: string; nextRunAt: string | null }[]
      return {
        ok: response.status === 200 && schedules.length > 0 && schedules.every((s) => s.nextRunAt),
        detail: `${response.status}: ${schedules.map((s) => `${s.id} next ${s.nextRunAt ?? 'never'}`).join(', ') || 'none'}`,
      }
    })
  } else skipped.push('workers and schedules (needs --internal-token)')

  for (const c of checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(20)} ${c.detail}\n`)
  for (const s of skipped) process.stdout.write(`skip  ${s}\n`)
  const failed = checks.filter((c) => !c.ok)
  process.stdout.write(
    failed.length === 0
      ? `${base}: all ${checks.length} checks passed\n`
      : `${base}: ${failed.length} of ${checks.length} checks failed: ${failed.map((c) => c.name).join(', ')}\n`,
  )
  if (failed.length > 0) process.exitCode = 1
}
