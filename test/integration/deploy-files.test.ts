import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { parse as parseToml } from 'smol-toml'
import { parse as parseYaml } from 'yaml'
import { buildMetricsApp } from '../../src/http/metrics-app.js'
import { EnvSchema } from '../../src/platform/config.js'
import { type ApiHarness, listenLocally, startApiHarness } from '../helpers/api.js'
import { TEST_INTERNAL_TOKEN } from '../helpers/harness.js'
import { spawnPam } from '../helpers/process.js'

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8')
// biome-ignore lint/suspicious/noExplicitAny: parsed deploy files are walked as plain data
type Doc = any

const compose: Doc = parseYaml(read('docker-compose.yml'), { merge: true })
const render: Doc = parseYaml(read('render.yaml'))
const fly: Doc = parseToml(read('fly.toml'))
const workflow: Doc = parseYaml(read('.github/workflows/ci.yml'))
const dockerfile = read('Dockerfile')
const KNOWN = new Set(Object.keys(EnvSchema.properties))
// Variables for the containers PAM runs beside (PostgreSQL, Redis), or for Node itself.
const NOT_PAMS = new Set([
  'NODE_ENV',
  'NODE_OPTIONS',
  'POSTGRES_DB',
  'POSTGRES_USER',
  'POSTGRES_PASSWORD',
  'REDIS_PASSWORD',
])

const PAM_SERVICES = ['migrate', 'api', 'worker', 'scheduler']

/** Every command the deploy files run, as argv. */
function commands(): { where: string; argv: string[] }[] {
  const found: { where: string; argv: string[] }[] = []
  for (const name of PAM_SERVICES) found.push({ where: `compose ${name}`, argv: compose.services[name].command })
  for (const service of render.services.filter((s: Doc) => s.dockerCommand)) {
    found.push({ where: `render ${service.name}`, argv: service.dockerCommand.split(' ') })
    if (service.preDeployCommand) found.push({ where: `render pre-deploy`, argv: service.preDeployCommand.split(' ') })
  }
  for (const [group, command] of Object.entries(fly.processes as Record<string, string>)) {
    found.push({ where: `fly ${group}`, argv: command.split(' ') })
  }
  found.push({ where: 'fly release', argv: fly.deploy.release_command.split(' ') })
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1]
  found.push({ where: 'Dockerfile CMD', argv: JSON.parse(cmd ?? '[]') })
  return found
}

describe('deployment files', () => {
  let api: ApiHarness
  before(async () => {
    api = await startApiHarness('postgres')
  })
  after(() => api.close())

  it('run only real pam commands', async () => {
    const all = commands()
    assert.ok(all.length >= 12, `${all.length} commands found`)
    for (const { where, argv } of all) {
      assert.deepEqual(argv.slice(0, 2), ['node', 'bin/pam.js'], `${where}: ${argv.join(' ')}`)
      const help = spawnPam([...argv.slice(2), '--help'], {})
      assert.equal(await help.exited, 0, `${where}: pam ${argv.slice(2).join(' ')} --help → ${help.output()}`)
    }
    const bogus = spawnPam(['bogus', '--help'], {})
    assert.equal(await bogus.exited, 2, 'an unknown command is refused, so the check above can fail')
  })

  it('set only variables the config schema knows, and every variable production requires', () => {
    const composeVars = [
      ...Object.keys(compose['x-pam'].environment),
      ...PAM_SERVICES.flatMap((name) => Object.keys(compose.services[name].environment ?? {})),
    ]
    const renderGroup = render.envVarGroups[0].envVars.map((v: Doc) => v.key)
    const renderVars = [
      ...renderGroup,
      ...render.services.flatMap((s: Doc) => (s.envVars ?? []).map((v: Doc) => v.key)),
    ]
    const dockerVars = [...dockerfile.matchAll(/^\s+([A-Z_]+)=/gm)].map((m) => m[1] ?? '')
    const exampleSet = [...read('.env.example').matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1] ?? '')
    for (const [where, names] of [
      ['docker-compose.yml', composeVars],
      ['render.yaml', renderVars],
      ['fly.toml', Object.keys(fly.env)],
      ['Dockerfile', dockerVars],
      ['.env.example', exampleSet],
    ] as const) {
      for (const name of names.filter(Boolean)) {
        assert.ok(KNOWN.has(name) || NOT_PAMS.has(name), `${where} sets ${name}, which PAM does not read`)
      }
    }
    for (const required of ['DATABASE_URL', 'JWT_SECRET', 'INTERNAL_TOKEN']) {
      assert.ok(renderGroup.includes(required), `render.yaml sets ${required}`)
      assert.ok([...composeVars, ...exampleSet].includes(required), `compose (with .env) sets ${required}`)
    }
    assert.ok(renderGroup.includes('REDIS_URL') && composeVars.includes('REDIS_URL'), 'Redis mode in both')
  })

  it('wire the stores and the start order the way PAM needs', () => {
    const redisArgs = compose.services.redis.command.join(' ')
    assert.match(redisArgs, /--appendonly yes/)
    assert.match(redisArgs, /--appendfsync everysec/)
    assert.match(redisArgs, /--maxmemory-policy noeviction/)
    assert.match(redisArgs, /--requirepass/)
    assert.deepEqual(compose.services.migrate.depends_on.postgres, { condition: 'service_healthy' })
    for (const name of ['api', 'worker', 'scheduler']) {
      assert.deepEqual(compose.services[name].depends_on.migrate, { condition: 'service_completed_successfully' })
      assert.ok(compose.services[name].healthcheck.test, `${name} has a health check`)
    }
    const keyvalue = render.services.find((s: Doc) => s.type === 'keyvalue')
    assert.equal(keyvalue.maxmemoryPolicy, 'noeviction')
    assert.equal(render.envVarGroups[0].envVars.find((v: Doc) => v.key === 'INTERNAL_TOKEN').generateValue, true)
    assert.equal(render.envVarGroups[0].envVars.find((v: Doc) => v.key === 'JWT_SECRET').sync, false)
    assert.deepEqual(fly.http_service.processes, ['api'])
    assert.equal(fly.kill_signal, 'SIGTERM')
    assert.ok(fly.kill_timeout * 1000 >= 25_000 + 5_000, 'kill_timeout covers SHUTDOWN_TIMEOUT_MS')
    assert.deepEqual(fly.vm.map((vm: Doc) => vm.processes[0]).sort(), ['api', 'scheduler', 'worker'])
    assert.match(dockerfile, /^USER node$/m)
    assert.match(dockerfile, /^HEALTHCHECK .*bin\/healthcheck\.js/m)
    const steps = workflow.jobs.test.steps.map((s: Doc) => s.run ?? '').join('\n')
    for (const step of ['npm ci', 'npm run lint', 'npm run typecheck', 'npm test'])
      assert.match(steps, new RegExp(step))
    assert.deepEqual(Object.keys(workflow.jobs.test.services).sort(), ['postgres', 'redis'])
  })

  it('health-check paths exist on the API', async () => {
    const paths = [
      ...render.services.filter((s: Doc) => s.healthCheckPath).map((s: Doc) => s.healthCheckPath),
      ...fly.http_service.checks.map((c: Doc) => c.path),
      ...[...read('bin/healthcheck.js').matchAll(/\/(health|ready)\b/g)].map((m) => m[0]),
    ]
    assert.ok(paths.length >= 3)
    for (const path of paths) {
      const response = await api.app.inject({ url: path })
      assert.ok([200, 503].includes(response.statusCode), `${path} → ${response.statusCode}`)
    }
  })

  it("give PAM processes their stores as URLs only, never the stores' own passwords", () => {
    for (const name of PAM_SERVICES) {
      const service = compose.services[name]
      assert.equal(service.env_file, '.env', `${name} reads PAM's settings from .env`)
      // environment wins over env_file: the passwords .env holds for postgres and redis are blanked.
      assert.equal(service.environment.POSTGRES_PASSWORD, '', `${name} does not carry POSTGRES_PASSWORD`)
      assert.equal(service.environment.REDIS_PASSWORD, '', `${name} does not carry REDIS_PASSWORD`)
      assert.match(service.environment.DATABASE_URL, /^postgres:\/\/pam:\$\{POSTGRES_PASSWORD/)
      assert.match(service.environment.REDIS_URL, /^redis:\/\/:\$\{REDIS_PASSWORD/)
    }
    assert.deepEqual(Object.keys(compose.services.postgres.environment).sort(), [
      'POSTGRES_DB',
      'POSTGRES_PASSWORD',
      'POSTGRES_USER',
    ])
    assert.deepEqual(Object.keys(compose.services.redis.environment), ['REDIS_PASSWORD'])
    for (const store of ['postgres', 'redis']) assert.equal(compose.services[store].env_file, undefined)
  })

  it('back up any PostgreSQL the compose file runs without client tools in the image', () => {
    // `pam backup` is PAM's own COPY over its connection (test/integration/backup.test.ts): the
    // image carries no pg_dump whose version would have to match the server's.
    assert.doesNotMatch(dockerfile, /postgresql-client|pg_dump/)
    assert.match(compose.services.postgres.image, /^postgres:\d+/)
  })

  it('check each role on its own port, as itself, even where roles share a network', async () => {
    for (const role of ['api', 'worker', 'scheduler']) {
      assert.deepEqual(compose.services[role].healthcheck.test, ['CMD', 'node', 'bin/healthcheck.js', role])
    }
    const worker = await buildMetricsApp({
      service: 'pam-worker',
      metrics: api.harness.deps.metrics,
      internalToken: TEST_INTERNAL_TOKEN,
      logger: api.harness.deps.logger,
    })
    try {
      const workerPort = (await listenLocally(worker)).split(':')[1] ?? ''
      const apiPort = (await listenLocally(api.app)).split(':')[1] ?? ''
      const check = async (args: string[], env: Record<string, string>) => {
        const child = spawn(process.execPath, ['bin/healthcheck.js', ...args], {
          cwd: new URL('../..', import.meta.url),
          env: { PATH: process.env.PATH ?? '', ...env },
          stdio: ['ignore', 'ignore', 'pipe'],
        })
        let stderr = ''
        child.stderr.on('data', (chunk) => {
          stderr += chunk
        })
        const code = await new Promise((resolve) => child.on('exit', resolve))
        return { code, stderr }
      }
      assert.equal((await check(['worker'], { METRICS_PORT: workerPort, PORT: apiPort })).code, 0)
      assert.equal((await check(['api'], { PORT: apiPort, METRICS_PORT: workerPort })).code, 0)
      // The old check passed a worker whenever PORT (the API, in a shared namespace) answered.
      const workerWithoutItsPort = await check(['worker'], { PORT: apiPort })
      assert.equal(workerWithoutItsPort.code, 1)
      assert.match(workerWithoutItsPort.stderr, /only on METRICS_PORT, which is not set/)
      const workerOnApiPort = await check(['scheduler'], { METRICS_PORT: apiPort, PORT: apiPort })
      assert.equal(workerOnApiPort.code, 1)
      assert.match(workerOnApiPort.stderr, /served by pam-api, not pam-scheduler/)
      assert.equal((await check(['api'], { PORT: workerPort })).code, 1, 'the API is not the worker')
      const unknown = await check(['bogus'], { PORT: apiPort })
      assert.equal(unknown.code, 1)
      assert.match(unknown.stderr, /pass api, worker or scheduler/)
    } finally {
      await worker.close()
    }
  })
})
