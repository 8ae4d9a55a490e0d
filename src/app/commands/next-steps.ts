import { setTimeout as sleep } from 'node:timers/promises'
import { type Config, describeMode, EnvSchema } from '../../platform/config.js'

/** The traveller the README's first steps use, so a copied token finds the README's data. */
export const DEMO_USER = '7d3f6a9e-1c2b-4e5f-8a9b-0c1d2e3f4a5b'

/** Where a browser or curl on this machine reaches the API. */
export function localBase(config: Config): string {
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.PORT}`
}

/** What `pam start` prints in development once it is ready: where to go, and how to get in. */
export function nextSteps(config: Config): string {
  const base = localBase(config)
  const mode = describeMode(config)
  const token = config.JWT_JWKS_URL
    ? ['  user tokens come from the identity provider behind JWT_JWKS_URL']
    : [
        '  a token for a demo traveller (copy, paste, then use "Authorization: Bearer $TOKEN"):',
        `    TOKEN=$(npx pam token --user ${DEMO_USER})`,
        '  their alerts as they happen (in a second terminal, in this folder):',
        `    ${watchCommand(config, `--user ${DEMO_USER}`)}`,
      ]
  return [
    '',
    `PAM is ready (${mode.environment}, ${mode.mode.split(' ')[0]} mode, ${mode.database})`,
    `  API        ${base}/v1`,
    `  API docs   ${base}/docs`,
    `  console    ${base}/console (a traveller's alerts, live; ${base}/console/operator for operators)`,
    `  queues     ${base}/admin/queues (sign in with the internal token: npx pam token --internal)`,
    ...token,
    '  Ctrl-C stops PAM; its data stays for the next start.',
    '',
  ].join('\n')
}

/**
 * The `pam watch` line for a traveller on this server: with `--url` unless the API is at the
 * default address, so that it holds in any shell (PORT set for one run, a port PAM picked).
 */
export function watchCommand(config: Config, who: string): string {
  const base = localBase(config)
  const defaults = EnvSchema.properties as unknown as Record<'PORT' | 'HOST', { default: never }>
  const plain = localBase({ ...config, PORT: defaults.PORT.default, HOST: defaults.HOST.default })
  return `npx pam watch ${who}${base === plain ? '' : ` --url ${base}`}`
}

/** Prints `nextSteps` once /ready answers 200; gives up quietly when PAM stops first. */
export async function announceWhenReady(config: Config, signal: AbortSignal): Promise<void> {
  const ready = `${localBase(config)}/ready`
  while (!signal.aborted) {
    const status = await fetch(ready, { signal: AbortSignal.any([signal, AbortSignal.timeout(5_000)]) }).then(
      async (response) => {
        await response.body?.cancel()
        return response.status
      },
      () => 0,
    )
    if (status === 200) {
      process.stdout.write(`${nextSteps(config)}\n`)
      return
    }
    await sleep(250, undefined, { signal }).catch(() => undefined)
  }
}
