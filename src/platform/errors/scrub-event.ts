/**
 * What leaves the process in an error report: never a token, a request or response body, a
 * cookie, a provider key or a password in a URL. Applied to every event (Sentry's `beforeSend`),
 * whatever captured it, so an integration added later cannot leak what this removes.
 */

// Only these request headers say something about an error without saying who or what was sent.
const KEPT_HEADERS = new Set(['user-agent', 'content-type', 'content-length', 'accept', 'x-request-id'])

const PATTERNS: [RegExp, string][] = [
  // A JWT (its header always starts with '{"', base64url "eyJ").
  [/eyJ[\w-]*\.[\w-]+\.[\w-]*/g, '[jwt]'],
  [/\b(bearer|basic)\s+[\w.~+/=-]+/gi, '$1 [redacted]'],
  // Provider keys: Anthropic, Google.
  [/\bsk-[\w-]{10,}/g, '[key]'],
  [/\bAIza[\w-]{20,}/g, '[key]'],
  // A password in a URL (postgres://user:secret@host, redis://:secret@host).
  [/(\b[a-z][\w+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi, '$1[redacted]@'],
  // A credential in a query string or form: token=…, key=…, access_token=…, password=…, secret=…
  [/\b([\w-]*(token|key|secret|password|signature)[\w-]*)=[^\s&#"']+/gi, '$1=[redacted]'],
]

export function redactText(text: string, secrets: readonly string[]): string {
  let result = text
  for (const secret of secrets) if (secret.length >= 8) result = result.split(secret).join('[redacted]')
  for (const [pattern, replacement] of PATTERNS) result = result.replace(pattern, replacement)
  return result
}

function redactDeep(value: unknown, secrets: readonly string[], depth = 0): unknown {
  if (typeof value === 'string') return redactText(value, secrets)
  if (depth > 20 || value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, secrets, depth + 1))
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      /^(authorization|cookie|password|secret|token|api_?key|access_token)$/i.test(key)
        ? '[redacted]'
        : redactDeep(item, secrets, depth + 1),
    ]),
  )
}

interface ScrubbableEvent {
  request?: { url?: string; method?: string; headers?: Record<string, string> }
  user?: { id?: string | number }
}

/** `secrets`: the deployment's own secret values (tokens, keys, URLs with passwords), removed wherever they appear. */
export function scrubEvent<E extends ScrubbableEvent>(event: E, secrets: readonly string[]): E {
  const { request, user, ...rest } = event
  const scrubbed = redactDeep(rest, secrets) as E & ScrubbableEvent
  if (request) {
    const headers = Object.fromEntries(
      Object.entries(request.headers ?? {}).filter(([name]) => KEPT_HEADERS.has(name.toLowerCase())),
    )
    scrubbed.request = {
      method: request.method,
      // The path only: a query may carry a token (/v1/stream takes one).
      ...(request.url ? { url: redactText(request.url.split('?')[0] ?? '', secrets) } : {}),
      headers,
    }
  }
  // The user as an id only: no email, no address, no name.
  if (user?.id !== undefined) scrubbed.user = { id: String(user.id) }
  return scrubbed
}
