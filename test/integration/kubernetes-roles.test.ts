import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { type KubeObject, render } from '../../deploy/kubernetes/render.js'
import { schedules } from '../../src/jobs/schedules.js'
import { QUEUE_NAMES } from '../../src/platform/backend/queue-names.js'
import { EnvSchema, loadConfig } from '../../src/platform/config.js'
import { atExit, tempFolder } from '../helpers/cleanup.js'
import { eventually, inBothModes, TEST_INTERNAL_TOKEN, testEnv } from '../helpers/harness.js'
import { freePort, get, listeningPorts, type PamProcess, spawnPam } from '../helpers/process.js'
import { createTestDatabase } from '../helpers/services.js'

/**
 * What the Kubernetes manifests name — commands, ports, probe paths, the queues each worker group
 * consumes, the figure KEDA reads — against what PAM's roles serve when started as processes with
 * the manifests' own settings (the overlay's ConfigMap and each container's env), in both modes.
 * Only the ports (free ones, several roles share this machine), the listen address, PAM_HOME and
 * the log level are the test's own.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const objects = render(join(ROOT, 'deploy/kubernetes/overlays/production'))
const ofKind = (kind: string) => objects.filter((o) => o.kind === kind)
const named = (kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name)
  assert.ok(found, `${kind} ${name} is in the overlay`)
  return found
}
const config = (ofKind('ConfigMap')[0]?.data ?? {}) as Record<string, string>
const pod = (workload: KubeObject) => workload.spec.template.spec
const main = (workload: KubeObject) => pod(workload).containers.find((c: KubeObject) => c.name === 'pam')
const envOf = (container: KubeObject): Record<string, string> =>
  Object.fromEntries((container.env ?? []).map((v: KubeObject) => [v.name, v.value]))
const deployments = ofKind('Deployment')
const job = ofKind('Job')[0] as KubeObject
// The ports of the settings each role listens on, as the manifests set them.
const MANIFEST_PORT = { PORT: Number(config.PORT), METRICS_PORT: Number(config.METRICS_PORT) }
/** Shutdown: SHUTDOWN_TIMEOUT_MS as the ConfigMap leaves it, then 5 s to close connections (src/app/roles/run.ts). */
const SHUTDOWN_MS = loadConfig({ ...config, ENVIRONMENT: 'development' }).SHUTDOWN_TIMEOUT_MS + 5_000

describe('the Kubernetes manifests', () => {
  it('the manifests set only variables PAM reads, no secret in the ConfigMap, and run real pam commands', async () => {
    const known = new Set(Object.keys(EnvSchema.properties))
    const secret = new Set(
      Object.entries(EnvSchema.properties)
        .filter(([, schema]) => (schema as { secret?: boolean }).secret)
        .map(([name]) => name),
    )
    for (const name of Object.keys(config)) {
      assert.ok(known.has(name), `the ConfigMap sets ${name}, which PAM does not read`)
      assert.ok(!secret.has(name), `the ConfigMap holds ${name}, a secret: it belongs in pam-secrets`)
    }
    const containers = [...deployments, job].flatMap((w) => [...(pod(w).initContainers ?? []), ...pod(w).containers])
    for (const container of containers) {
      for (const name of Object.keys(envOf(container))) assert.ok(known.has(name) || name === 'NODE_OPTIONS', name)
      assert.deepEqual(
        container.envFrom.map((source: KubeObject) => source.configMapRef?.name ?? source.secretRef?.name),
        [ofKind('ConfigMap')[0]?.metadata.name, 'pam-secrets'],
      )
    }
    // The documented keys of pam-secrets are the secrets PAM reads (docs/deployment.md).
    const documented = /<!-- pam-secrets -->([\s\S]*?)<!-- \/pam-secrets -->/.exec(
      readFileSync(join(ROOT, 'docs/deployment.md'), 'utf8'),
    )?.[1]
    const keys = [...(documented ?? '').matchAll(/`([A-Z_]+)`/g)].map((m) => m[1] ?? '')
    assert.ok(keys.includes('DATABASE_URL') && keys.includes('INTERNAL_TOKEN'), `documented: ${keys.join(', ')}`)
    for (const key of keys) assert.ok(secret.has(key), `pam-secrets documents ${key}, not a secret PAM reads`)
    const trigger = named('TriggerAuthentication', 'pam-internal-token').spec.secretTargetRef[0]
    assert.deepEqual([trigger.name, trigger.key], ['pam-secrets', 'INTERNAL_TOKEN'])

    for (const workload of [...deployments, job]) {
      const argv = main(workload).command as string[]
      assert.deepEqual(argv.slice(0, 2), ['node', 'bin/pam.js'], `${workload.metadata.name}: ${argv.join(' ')}`)
      const help = spawnPam([...argv.slice(2), '--help'], {})
      assert.equal(await help.exited, 0, `${workload.metadata.name}: ${argv.join(' ')} --help → ${help.output()}`)
    }
  })

  it('gives every role a grace period above its shutdown, and listens where the NetworkPolicies open', () => {
    for (const workload of deployments) {
      const grace = pod(workload).terminationGracePeriodSeconds * 1000
      const preStop = Number(main(workload).lifecycle?.preStop?.exec?.command?.[1] ?? 0) * 1000
      assert.ok(grace > preStop + SHUTDOWN_MS, `${workload.metadata.name}: ${grace} ms for ${preStop} + ${SHUTDOWN_MS}`)
    }
    const opened = ofKind('NetworkPolicy').flatMap((p) => (p.spec.ingress ?? []).flatMap((r: KubeObject) => r.ports))
    const declared = deployments.flatMap((w) => main(w).ports.map((p: KubeObject) => p.containerPort))
    assert.deepEqual(new Set(opened.map((p: KubeObject) => p.port)), new Set(declared))
  })
})

/** `sh -c` as a container runs it, in a folder laid out as the image's /app (bin/pam.js → this build). */
function runShell(script: string, env: Record<string, string>) {
  const app = tempFolder()
  mkdirSync(join(app, 'bin'))
  const built = process.env.PAM_TEST_CLI
  writeFileSync(
    join(app, 'bin', 'pam.js'),
    built
      ? `const { main } = await import(${JSON.stringify(built)}); await main(process.argv.slice(2))\n`
      : `await import(${JSON.stringify(pathToFileURL(join(ROOT, 'bin/pam.js')).href)})\n`,
  )
  writeFileSync(join(app, 'package.json'), '{"type":"module"}\n')
  const child: ChildProcess = spawn('sh', ['-c', script], {
    cwd: app,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: 'ignore',
    detached: true,
  })
  const kill = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL')
    } catch {
      // Gone already.
    }
  }
  const forget = atExit(kill)
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  void exited.then(forget)
  /** Whether the script is in its `sleep`: it has checked, and decided to wait. */
  const sleeping = () => {
    try {
      const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)
      return children.some((pid) => pid && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep')
    } catch {
      return false
    }
  }
  return { exited, sleeping, kill }
}

inBothModes('the roles, as the Kubernetes manifests run them', (mode) => {
  let database: { url: string; drop(): Promise<void> }
  let base: Record<string, string>
  const running: PamProcess[] = []
  const ports = new Map<string, { port: number; metrics: number; pid: number | undefined }>()

  /** A workload's pod, as its container would see its environment; the ports are the test's. */
  async function start(workload: KubeObject, instance = '') {
    const port = await freePort()
    const metrics = await freePort()
    const argv = main(workload).command as string[]
    const pam = spawnPam(argv.slice(2), {
      ...base,
      ...envOf(main(workload)),
      PORT: String(port),
      METRICS_PORT: String(metrics),
    })
    ports.set(workload.metadata.name + instance, { port, metrics, pid: pam.child.pid })
    running.push(pam)
    return { pam, port, metrics }
  }

  before(async () => {
    database = await createTestDatabase()
    const closed = `http://127.0.0.1:${await freePort()}`
    const test = testEnv(mode, database.url)
    base = {
      ...config,
      // pam-secrets, as docs/deployment.md has the operator create it (REDIS_URL only in Redis mode).
      DATABASE_URL: test.DATABASE_URL ?? '',
      ...(test.REDIS_URL ? { REDIS_URL: test.REDIS_URL } : {}),
      JWT_SECRET: test.JWT_SECRET ?? '',
      INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
      // The test's own: loopback, its own folder and Redis prefix, quiet, shorter shutdowns, no
      // third-party provider reached.
      HOST: '127.0.0.1',
      PAM_HOME: test.PAM_HOME ?? '',
      REDIS_PREFIX: test.REDIS_PREFIX ?? '',
      LOG_LEVEL: test.LOG_LEVEL ?? 'silent',
      SHUTDOWN_TIMEOUT_MS: '5000',
      PLACES_API_URL: closed,
      WEATHER_API_URL: closed,
    }
  })
  after(async () => {
    await Promise.all(running.map((pam) => pam.stop('SIGKILL')))
    await database.drop()
  })

  it('holds a new release back until its migration has run: API out of rotation, workers in their init container', async () => {
    const api = named('Deployment', 'pam-api')
    const { port } = await start(api)
    const container = main(api)
    assert.equal(
      container.ports.find((p: KubeObject) => p.name === container.readinessProbe.httpGet.port)?.containerPort,
      MANIFEST_PORT.PORT,
    )
    const liveness = `http://127.0.0.1:${port}${container.livenessProbe.httpGet.path}`
    const readiness = `http://127.0.0.1:${port}${container.readinessProbe.httpGet.path}`
    const alive = await eventually(
      async () => ((await get(liveness)).status === 200 ? true : undefined),
      60_000,
      'the API alive',
    )
    assert.equal(alive, true)
    assert.equal((await get(liveness)).body.service, 'pam-api')
    const waiting = await get(readiness)
    assert.equal(waiting.status, 503, 'not ready while the migration is pending (MIGRATE_ON_START=false)')
    assert.equal(waiting.body.components.database, false)

    const init = pod(named('Deployment', 'pam-worker-notifications')).initContainers[0]
    const [shell, flag, script] = init.command as string[]
    assert.deepEqual([shell, flag], ['sh', '-c'])
    const gate = runShell(script ?? '', base)
    try {
      await eventually(
        async () => (gate.sleeping() ? true : undefined),
        60_000,
        'the init container to find the migration pending',
      )
      // The migration Job's command, as the Job runs it; then the init container lets the worker start.
      const migrate = spawnPam(main(job).command.slice(2), base)
      assert.equal(await migrate.exited, 0, migrate.output())
      assert.equal(await gate.exited, 0)
    } finally {
      gate.kill()
    }
    const ready = await eventually(
      async () => ((await get(readiness)).status === 200 ? true : undefined),
      60_000,
      `${readiness} ready`,
    )
    assert.equal(ready, true)
  })

  it('serves each probe on the port each role listens on, and the workers consume the queues their group names', async () => {
    for (const name of ['pam-worker-notifications', 'pam-worker-background']) await start(named('Deployment', name))
    const scheduler = named('Deployment', 'pam-scheduler')
    for (let i = 0; i < scheduler.spec.replicas; i++) await start(scheduler, `#${i}`)

    for (const workload of deployments) {
      const container = main(workload)
      const role = container.command[2]
      for (const [key, listening] of ports) {
        if (!key.startsWith(workload.metadata.name)) continue
        // The API listens on PORT, a worker or scheduler on METRICS_PORT: read from the processes.
        const served =
          role === 'api'
            ? { setting: 'PORT', port: listening.port }
            : { setting: 'METRICS_PORT', port: listening.metrics }
        for (const probe of ['readinessProbe', 'livenessProbe']) {
          const { path, port } = container[probe].httpGet
          const declared = container.ports.find((p: KubeObject) => p.name === port)
          assert.equal(
            declared?.containerPort,
            MANIFEST_PORT[served.setting as keyof typeof MANIFEST_PORT],
            `${key} ${probe}`,
          )
          const url = `http://127.0.0.1:${served.port}${path}`
          const answer = await eventually(
            async () => {
              const response = await get(url)
              return response.status === 200 ? response : undefined
            },
            60_000,
            `${key}: ${probe} ${path}`,
          )
          if (path === '/health') assert.equal(answer.body.service, `pam-${role}`)
        }
        assert.deepEqual(
          listening.pid ? listeningPorts(listening.pid) : [],
          [served.port],
          `${key} listens on ${served.setting} only`,
        )
        const scraped = await fetch(`http://127.0.0.1:${served.port}/metrics`, {
          headers: { authorization: `Bearer ${TEST_INTERNAL_TOKEN}` },
        })
        assert.equal(scraped.status, 200, `${key}: /metrics`)
        assert.match(await scraped.text(), /^pam_process_cpu_seconds_total /m)
      }
    }

    // Each group's workers consume exactly the queues its WORKER_QUEUES names, and together every queue.
    const api = `http://127.0.0.1:${ports.get('pam-api')?.port}`
    const auth = { authorization: `Bearer ${TEST_INTERNAL_TOKEN}` }
    const workers = deployments.filter((w) => main(w).command[2] === 'worker')
    const live = await eventually(
      async () => {
        const beats = (await get(`${api}/internal/worker/heartbeat`, auth)).body?.workers ?? []
        return beats.length >= workers.length + scheduler.spec.replicas ? beats : undefined
      },
      60_000,
      'every role heartbeating',
    )
    const consumed = live
      .filter((p: KubeObject) => p.role === 'worker')
      .map((p: KubeObject) => [...p.queues].sort().join(','))
    const named_ = workers.map((w) => envOf(main(w)).WORKER_QUEUES?.split(',').sort().join(','))
    assert.deepEqual(consumed.sort(), named_.sort())
    assert.deepEqual(named_.join(',').split(',').sort(), [...QUEUE_NAMES].sort())
    assert.equal(live.filter((p: KubeObject) => p.role === 'scheduler').length, scheduler.spec.replicas)
    const full = await eventually(
      async () => ((await get(`${api}/ready`)).status === 200 ? true : undefined),
      30_000,
      '/ready with both groups',
    )
    assert.equal(full, true)
  })

  it('two schedulers keep one of each schedule', async () => {
    const wanted = schedules(loadConfig({ ...base, PORT: '8000' }))
    const api = `http://127.0.0.1:${ports.get('pam-api')?.port}`
    const listed = await eventually(
      async () => {
        const response = await get(`${api}/internal/schedules`, { authorization: `Bearer ${TEST_INTERNAL_TOKEN}` })
        return response.status === 200 && response.body.schedules.length >= wanted.length ? response.body : undefined
      },
      30_000,
      'the schedules in place',
    )
    const ids = listed.schedules.map((s: KubeObject) => s.id).sort()
    assert.deepEqual(ids, wanted.map((s) => s.id).sort())
  })

  it('answers KEDA: every worker group has a trigger per queue, reading a figure the API serves for that queue', async () => {
    const api = ports.get('pam-api')?.port
    const auth = named('TriggerAuthentication', 'pam-internal-token').spec.secretTargetRef[0]
    assert.equal(auth.parameter, 'token')
    for (const scaled of ofKind('ScaledObject')) {
      const target = named('Deployment', scaled.spec.scaleTargetRef.name)
      const queues = envOf(main(target)).WORKER_QUEUES?.split(',') ?? []
      const read: string[] = []
      for (const trigger of scaled.spec.triggers) {
        assert.equal(trigger.type, 'metrics-api')
        assert.equal(trigger.metadata.authMode, 'bearer')
        const url = new URL(trigger.metadata.url)
        // The API's Service, in the overlay's namespace, on the Service's port.
        const service = named('Service', url.hostname.split('.')[0] ?? '')
        assert.equal(url.hostname, `${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`)
        assert.equal(Number(url.port), service.spec.ports[0].port)
        const response = await get(`http://127.0.0.1:${api}${url.pathname}`, {
          authorization: `Bearer ${TEST_INTERNAL_TOKEN}`,
        })
        assert.equal(response.status, 200, trigger.metadata.url)
        const value = trigger.metadata.valueLocation
          .split('.')
          .reduce((node: KubeObject, key: string) => node?.[key], response.body)
        assert.ok(Number.isInteger(value), `${trigger.metadata.valueLocation} → ${value}`)
        read.push(trigger.metadata.valueLocation.split('.')[1])
        const refused = await get(`http://127.0.0.1:${api}${url.pathname}`)
        assert.equal(refused.status, 401, 'not without the token')
      }
      assert.deepEqual(read.sort(), [...queues].sort(), `${scaled.metadata.name} reads the queues its workers consume`)
    }
  })
})
