/**
 * The Kubernetes manifests, checked without a cluster (`.ci/run`):
 * `node --import tsx deploy/kubernetes/check.ts`. For every overlay:
 * - rendered (render.ts), and where kubectl is installed, rendered by Kustomize itself too and
 *   required to be the same objects;
 * - each object validated against its schema: Kubernetes' OpenAPI (`kubernetes-models`) and KEDA's
 *   CRDs (`@kubernetes-models/keda`);
 * - each object type-checked as its model's TypeScript type, which catches what the schemas let
 *   through: a field no API knows (a misspelt `readinessProbe` would be silently dropped);
 * - every reference resolved inside the overlay: selectors select pods, autoscalers and budgets
 *   name what exists, ports are named where they are used;
 * - every pod admissible under Pod Security's `restricted` profile, with a read-only root.
 * Exits 1 naming every problem. What roles serve on those ports and paths is test/integration/
 * kubernetes-roles.test.ts's part.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isDeepStrictEqual } from 'node:util'
import { parseAllDocuments } from 'yaml'
import { messageOf } from '../../src/platform/errors/error-message.js'
import { type KubeObject, render } from './render.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const OVERLAYS = fileURLToPath(new URL('./overlays', import.meta.url))

/** The npm package and module of an apiVersion's models. */
function modelModule(apiVersion: string) {
  return apiVersion.endsWith('keda.sh/v1alpha1')
    ? `@kubernetes-models/keda/${apiVersion}`
    : `kubernetes-models/${apiVersion}`
}

const label = (object: KubeObject) => `${object.kind} ${object.metadata?.name}`

async function validateSchemas(objects: KubeObject[]): Promise<string[]> {
  const problems: string[] = []
  for (const object of objects) {
    const models = await import(modelModule(object.apiVersion)).catch(() => ({}))
    const Model = models[object.kind]
    if (!Model) {
      problems.push(`${label(object)}: no model for ${object.apiVersion} ${object.kind}`)
      continue
    }
    try {
      new Model(object).validate()
    } catch (error) {
      problems.push(`${label(object)}: ${messageOf(error)}`)
    }
  }
  return problems
}

/** Each object as a literal that must satisfy its model's interface: excess fields are errors. */
function checkKnownFields(overlays: Map<string, KubeObject[]>): string[] {
  // Inside node_modules, so the generated file resolves the models as this repository does.
  const folder = join(ROOT, 'node_modules', '.cache', 'pam-kubernetes-check')
  rmSync(folder, { recursive: true, force: true })
  mkdirSync(folder, { recursive: true })
  const lines: string[] = []
  const where: string[] = []
  let n = 0
  for (const [overlay, objects] of overlays) {
    for (const object of objects) {
      const type = `M${n}`
      lines.push(`import type { I${object.kind} as ${type} } from '${modelModule(object.apiVersion)}/${object.kind}'`)
      lines.push(`export const o${n} = ${JSON.stringify(object)} satisfies ${type}`)
      where[lines.length] = `${overlay}: ${label(object)}`
      n++
    }
  }
  writeFileSync(join(folder, 'objects.ts'), `${lines.join('\n')}\n`)
  writeFileSync(
    join(folder, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', types: [] },
      files: ['objects.ts'],
    }),
  )
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', folder], {
    encoding: 'utf8',
  })
  rmSync(folder, { recursive: true, force: true })
  if (tsc.status === 0) return []
  // objects.ts(4,123): error TS2353: Object literal may only specify known properties, and 'x' …
  return tsc.stdout
    .split('\n')
    .filter((line) => line.includes('error TS'))
    .map((line) => {
      const row = Number(/\((\d+),\d+\)/.exec(line)?.[1])
      return `${where[row] ?? 'objects.ts'}: ${line.replace(/^.*error TS\d+: /, '')}`
    })
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  Object.entries(selector ?? {}).every(([key, value]) => labels?.[key] === value)

/** Every name one object gives another resolves inside the overlay. */
function checkReferences(objects: KubeObject[]): string[] {
  const problems: string[] = []
  const named = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name)
  const workloads = objects.filter((o) => o.spec?.template?.spec)
  const podLabels = workloads.map((o) => o.spec.template.metadata?.labels ?? {})
  for (const workload of workloads.filter((o) => o.kind === 'Deployment')) {
    if (!matches(workload.spec.selector.matchLabels, workload.spec.template.metadata.labels))
      problems.push(`${label(workload)}: its selector does not select its own pods`)
    const others = workloads.filter(
      (o) => o !== workload && matches(workload.spec.selector.matchLabels, o.spec.template.metadata.labels),
    )
    if (others.length > 0)
      problems.push(`${label(workload)}: its selector also selects ${others.map(label).join(', ')}`)
  }
  for (const object of objects) {
    const selector =
      object.kind === 'Service'
        ? object.spec.selector
        : object.kind === 'PodDisruptionBudget' || object.kind === 'NetworkPolicy'
          ? (object.spec.selector ?? object.spec.podSelector)?.matchLabels
          : undefined
    if (selector && !podLabels.some((labels) => matches(selector, labels)))
      problems.push(`${label(object)}: its selector selects no pod`)
    const target = object.spec?.scaleTargetRef
    if (target && !named(target.kind ?? 'Deployment', target.name))
      problems.push(`${label(object)}: scales ${target.kind ?? 'Deployment'} ${target.name}, which is not here`)
    for (const trigger of object.kind === 'ScaledObject' ? object.spec.triggers : []) {
      const auth = trigger.authenticationRef?.name
      if (auth && !named('TriggerAuthentication', auth))
        problems.push(`${label(object)}: trigger ${trigger.name} uses TriggerAuthentication ${auth}, which is not here`)
    }
    if (object.kind === 'Service') {
      const pods = workloads.filter((o) => matches(object.spec.selector, o.spec.template.metadata.labels))
      const portNames = new Set(
        pods.flatMap((o) =>
          o.spec.template.spec.containers.flatMap((c: KubeObject) => c.ports ?? []).map((p: KubeObject) => p.name),
        ),
      )
      for (const port of object.spec.ports)
        if (typeof port.targetPort === 'string' && !portNames.has(port.targetPort))
          problems.push(`${label(object)}: targetPort ${port.targetPort} is no port of its pods`)
    }
  }
  for (const workload of workloads) {
    const pod = workload.spec.template.spec
    for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
      const ports = new Set((container.ports ?? []).map((p: KubeObject) => p.name))
      for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
        const port = container[probe]?.httpGet?.port
        if (typeof port === 'string' && !ports.has(port))
          problems.push(`${label(workload)}: ${container.name}'s ${probe} uses port ${port}, which it does not declare`)
      }
      for (const source of container.envFrom ?? []) {
        const map = source.configMapRef?.name
        if (map && !named('ConfigMap', map))
          problems.push(`${label(workload)}: reads ConfigMap ${map}, which is not here`)
      }
    }
  }
  return problems
}

const RESTRICTED_VOLUMES = ['emptyDir', 'configMap', 'secret', 'projected', 'downwardAPI', 'persistentVolumeClaim']

/**
 * What Pod Security's `restricted` profile admits (the overlays' namespaces enforce it; no API
 * server here to ask), and PAM's own rule on top: a read-only root filesystem.
 */
function checkPodSecurity(objects: KubeObject[]): string[] {
  const problems: string[] = []
  for (const workload of objects.filter((o) => o.spec?.template?.spec)) {
    const pod = workload.spec.template.spec
    const say = (problem: string) => problems.push(`${label(workload)}: ${problem}`)
    if (pod.securityContext?.runAsNonRoot !== true) say('runAsNonRoot is not true')
    if (pod.securityContext?.runAsUser === 0) say('runs as root')
    if (pod.securityContext?.seccompProfile?.type !== 'RuntimeDefault') say('no RuntimeDefault seccomp profile')
    for (const host of ['hostNetwork', 'hostPID', 'hostIPC']) if (pod[host]) say(`${host} is on`)
    for (const volume of pod.volumes ?? []) {
      if (!RESTRICTED_VOLUMES.some((type) => type in volume))
        say(`volume ${volume.name} is of a type restricted pods may not use`)
    }
    for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
      const context = container.securityContext ?? {}
      const which = `container ${container.name}`
      if (context.allowPrivilegeEscalation !== false) say(`${which} may escalate privileges`)
      if (context.privileged) say(`${which} is privileged`)
      if (!context.capabilities?.drop?.includes('ALL')) say(`${which} keeps its capabilities`)
      if ((context.capabilities?.add ?? []).some((c: string) => c !== 'NET_BIND_SERVICE'))
        say(`${which} adds capabilities`)
      if (context.readOnlyRootFilesystem !== true) say(`${which} has a writable root filesystem`)
    }
  }
  return problems
}

/** Kustomize's own rendering, where kubectl (which embeds it) is installed. */
function compareWithKustomize(overlay: string, mine: KubeObject[]): string[] | string {
  const version = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' })
  if (version.error || version.status !== 0) return 'kubectl not installed: Kustomize itself not compared'
  const theirs = parseAllDocuments(execFileSync('kubectl', ['kustomize', overlay], { encoding: 'utf8' })).map(
    (document) => document.toJS() as KubeObject,
  )
  const key = (object: KubeObject) => `${object.kind} ${object.metadata.name}`
  const byKey = new Map(theirs.map((object) => [key(object), object]))
  const problems = mine
    .filter((object) => !isDeepStrictEqual(object, byKey.get(key(object))))
    .map((object) => `${key(object)} renders differently from Kustomize's`)
  const extra = theirs.filter((object) => !mine.some((o) => key(o) === key(object)))
  problems.push(...extra.map((object) => `Kustomize renders ${key(object)}, render.ts does not`))
  const { kustomizeVersion } = JSON.parse(version.stdout) as { kustomizeVersion?: string }
  return problems.length > 0 ? problems : `the same as Kustomize ${kustomizeVersion ?? ''} (kubectl kustomize)`.trim()
}

const started = performance.now()
const overlays = new Map<string, KubeObject[]>()
const problems: string[] = []
for (const name of readdirSync(OVERLAYS)) {
  const folder = join(OVERLAYS, name)
  try {
    overlays.set(name, render(folder))
  } catch (error) {
    problems.push(`${name}: ${messageOf(error)}`)
  }
}
for (const [name, objects] of overlays) {
  const found = [...(await validateSchemas(objects)), ...checkReferences(objects), ...checkPodSecurity(objects)]
  const kustomize = compareWithKustomize(join(OVERLAYS, name), objects)
  if (Array.isArray(kustomize)) found.push(...kustomize)
  problems.push(...found.map((problem) => `${name}: ${problem}`))
  const kinds = [...new Set(objects.map((o) => o.kind))].join(', ')
  process.stdout.write(
    `${relative(ROOT, join(OVERLAYS, name))}: ${objects.length} objects (${kinds}); ${found.length === 0 ? 'valid' : `${found.length} problems`}; ${Array.isArray(kustomize) ? 'compared with Kustomize' : kustomize}\n`,
  )
}
problems.push(...checkKnownFields(overlays))
for (const problem of problems) process.stderr.write(`${problem}\n`)
process.stdout.write(
  `${problems.length === 0 ? 'Kubernetes manifests valid' : `${problems.length} problems`} (${Math.round(performance.now() - started)} ms)\n`,
)
process.exit(problems.length === 0 ? 0 : 1)
