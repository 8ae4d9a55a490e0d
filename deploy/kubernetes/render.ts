/**
 * Renders a Kustomize overlay of deploy/kubernetes as `kustomize build` does, for the machines that
 * have no kustomize (nor kubectl, which embeds it): with the `yaml` package, and only the Kustomize
 * features these manifests use. Anything else in a kustomization.yaml is refused by name, so a new
 * feature cannot slip in unrendered; where kubectl is installed, check.ts also compares this
 * rendering with Kustomize's own.
 *
 * Supported: resources (files and folders), namespace, images (name, newName, newTag),
 * configMapGenerator (literals, behavior create|merge; the content hash in the name, and the
 * references to it), patches (JSON 6902 `replace`, target by kind and name) and replacements
 * (fieldPath with `[key=value]` and `*`, options delimiter and index).
 *
 * `node --import tsx deploy/kubernetes/render.ts deploy/kubernetes/overlays/production` prints it.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parse, parseAllDocuments, stringify } from 'yaml'

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are walked as plain data
export type KubeObject = Record<string, any>

interface Kustomization {
  resources?: string[]
  namespace?: string
  images?: { name: string; newName?: string; newTag?: string }[]
  configMapGenerator?: { name: string; behavior?: 'create' | 'merge'; literals?: string[] }[]
  patches?: { target: { kind: string; name?: string }; patch: string }[]
  replacements?: Replacement[]
}

interface Replacement {
  source: { kind: string; name?: string; fieldPath: string; options?: Split }
  targets: { select: { kind: string; name?: string }; fieldPaths: string[]; options?: Split }[]
}

interface Split {
  delimiter?: string
  index?: number
}

const KNOWN_FIELDS = new Set([
  'apiVersion',
  'kind',
  'resources',
  'namespace',
  'images',
  'configMapGenerator',
  'patches',
  'replacements',
])
// What Kustomize leaves without a namespace (those of these manifests).
const CLUSTER_SCOPED = new Set(['Namespace'])

/** The objects `kustomize build <folder>` prints (in no particular order). */
export function render(folder: string): KubeObject[] {
  const { objects, generated } = build(resolve(folder))
  hashGeneratedNames(objects, generated)
  return objects
}

interface Built {
  objects: KubeObject[]
  /** ConfigMaps generated along the way, whose names get their content hash at the very end. */
  generated: Set<KubeObject>
}

function build(folder: string): Built {
  const file = join(folder, 'kustomization.yaml')
  const k = parse(readFileSync(file, 'utf8')) as Kustomization
  const unknown = Object.keys(k).filter((key) => !KNOWN_FIELDS.has(key))
  if (unknown.length > 0) throw new Error(`${file}: ${unknown.join(', ')} not supported by render.ts`)

  const built: Built = { objects: [], generated: new Set() }
  for (const entry of k.resources ?? []) {
    const path = join(folder, entry)
    if (statSync(path).isDirectory()) {
      const inner = build(path)
      built.objects.push(...inner.objects)
      for (const map of inner.generated) built.generated.add(map)
    } else {
      for (const document of parseAllDocuments(readFileSync(path, 'utf8'))) {
        if (document.errors.length > 0) throw new Error(`${path}: ${document.errors[0]?.message}`)
        const object = document.toJS({ maxAliasCount: 100 }) as KubeObject | null
        if (object) built.objects.push(object)
      }
    }
  }
  for (const generator of k.configMapGenerator ?? []) generate(built, generator, file)
  // Kustomize's order of built-in transformers: patches, namespace, images, replacements.
  for (const { target, patch } of k.patches ?? []) {
    for (const object of select(built.objects, target, file)) applyJsonPatch(object, parse(patch), file)
  }
  if (k.namespace) {
    for (const object of built.objects) {
      if (!CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = k.namespace
    }
  }
  for (const image of k.images ?? []) {
    for (const container of podContainers(built.objects)) {
      if (imageName(container.image) !== image.name) continue
      const tag = image.newTag ?? imageTag(container.image)
      container.image = tag ? `${image.newName ?? image.name}:${tag}` : (image.newName ?? image.name)
    }
  }
  for (const replacement of k.replacements ?? []) replace(built.objects, replacement, file)
  return built
}

function generate(built: Built, generator: NonNullable<Kustomization['configMapGenerator']>[number], file: string) {
  const data = Object.fromEntries(
    (generator.literals ?? []).map((literal) => {
      const at = literal.indexOf('=')
      if (at < 1) throw new Error(`${file}: literal ${literal} is not NAME=value`)
      return [literal.slice(0, at), literal.slice(at + 1)]
    }),
  )
  const existing = [...built.generated].find((map) => map.metadata.name === generator.name)
  if (generator.behavior === 'merge') {
    if (!existing) throw new Error(`${file}: configMapGenerator ${generator.name} merges into nothing`)
    existing.data = { ...existing.data, ...data }
    return
  }
  if (existing) throw new Error(`${file}: configMapGenerator ${generator.name} is generated twice`)
  const map = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: generator.name }, data }
  built.objects.push(map)
  built.generated.add(map)
}

/**
 * Kustomize's content hash (api/hasher): SHA-256 of the JSON of {data, kind, name} with sorted keys,
 * its first ten hex digits with 0, 1, 3, a, e spelled g, h, k, m, t (no vowels, no words). Its
 * `name` is always empty: Kustomize looks the name up as one field called "metadata/name" and finds
 * none (as kubectl's Kustomize 5.5 hashes: check.ts compares). Every reference follows the new name.
 */
function hashGeneratedNames(objects: KubeObject[], generated: Set<KubeObject>) {
  const renamed = new Map<string, string>()
  for (const map of generated) {
    const sorted = Object.fromEntries(
      Object.entries(map.data as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : 1)),
    )
    // As Go's encoding/json writes it: <, > and & escaped.
    const json = JSON.stringify({ data: sorted, kind: 'ConfigMap', name: '' }).replace(
      /[<>&]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    )
    const hex = createHash('sha256').update(json).digest('hex').slice(0, 10)
    const suffix = hex.replace(/[013ae]/g, (digit) => ({ 0: 'g', 1: 'h', 3: 'k', a: 'm', e: 't' })[digit] ?? digit)
    renamed.set(map.metadata.name, `${map.metadata.name}-${suffix}`)
    map.metadata.name = `${map.metadata.name}-${suffix}`
  }
  for (const container of podContainers(objects)) {
    for (const source of container.envFrom ?? []) {
      const name = renamed.get(source.configMapRef?.name)
      if (name) source.configMapRef.name = name
    }
    for (const variable of container.env ?? []) {
      const name = renamed.get(variable.valueFrom?.configMapKeyRef?.name)
      if (name) variable.valueFrom.configMapKeyRef.name = name
    }
  }
}

function select(objects: KubeObject[], target: { kind: string; name?: string }, file: string): KubeObject[] {
  const found = objects.filter((o) => o.kind === target.kind && (!target.name || o.metadata.name === target.name))
  if (found.length === 0) throw new Error(`${file}: no ${target.kind} ${target.name ?? ''} to change`)
  return found
}

function applyJsonPatch(object: KubeObject, operations: { op: string; path: string; value: unknown }[], file: string) {
  for (const { op, path, value } of operations) {
    if (op !== 'replace') throw new Error(`${file}: JSON patch op ${op} not supported by render.ts`)
    const keys = path.split('/').slice(1)
    const last = keys.pop() ?? ''
    const parent = keys.reduce((node, key) => node?.[key], object)
    if (parent?.[last] === undefined)
      throw new Error(`${file}: ${path} is not in ${object.kind} ${object.metadata.name}`)
    parent[last] = value
  }
}

/** Every container and init container of every pod template (Deployments, Jobs). */
function podContainers(objects: KubeObject[]): KubeObject[] {
  return objects.flatMap((o) => {
    const pod = o.spec?.template?.spec
    return pod ? [...(pod.initContainers ?? []), ...(pod.containers ?? [])] : []
  })
}

const imageName = (image: string) => image.replace(/@.*$/, '').replace(/:[^:/]*$/, '')
const imageTag = (image: string) => /:([^:/@]+)(@|$)/.exec(image)?.[1]

/** The nodes a field path names: `a.b.[name=x].c`, `a.*.c`, `a.0.c`; each as its parent and key. */
function fieldNodes(object: KubeObject, fieldPath: string): { parent: KubeObject; key: string | number }[] {
  let nodes: { parent: KubeObject; key: string | number }[] = [{ parent: { root: object }, key: 'root' }]
  for (const step of fieldPath.split('.')) {
    nodes = nodes.flatMap(({ parent, key }) => {
      const node = parent[key]
      if (node === undefined || node === null) return []
      const match = /^\[(.+)=(.+)\]$/.exec(step)
      if (match) {
        const [, field = '', value] = match
        return (node as KubeObject[]).flatMap((item, i) => (item?.[field] === value ? [{ parent: node, key: i }] : []))
      }
      if (step === '*') return (node as unknown[]).map((_, i) => ({ parent: node, key: i }))
      return [{ parent: node, key: Array.isArray(node) ? Number(step) : step }]
    })
  }
  return nodes.filter(({ parent, key }) => parent[key] !== undefined)
}

function replace(objects: KubeObject[], { source, targets }: Replacement, file: string) {
  const [from] = select(objects, source, file)
  const [node] = from ? fieldNodes(from, source.fieldPath) : []
  if (!node) throw new Error(`${file}: replacement source ${source.kind} ${source.fieldPath} not found`)
  let value = String(node.parent[node.key])
  if (source.options?.delimiter !== undefined) {
    const parts = value.split(source.options.delimiter)
    const index = source.options.index ?? 0
    // As Kustomize: a missing part of the source is an error ("out of bounds").
    if (index < 0 || index >= parts.length)
      throw new Error(`${file}: options.index ${index} is out of bounds for value ${value}`)
    value = parts[index] ?? ''
  }
  for (const { select: which, fieldPaths, options } of targets) {
    for (const object of select(objects, which, file)) {
      for (const fieldPath of fieldPaths) {
        const found = fieldNodes(object, fieldPath)
        if (found.length === 0) throw new Error(`${file}: ${object.kind} ${object.metadata.name} has no ${fieldPath}`)
        for (const { parent, key } of found) parent[key] = spliced(String(parent[key]), value, options)
      }
    }
  }
}

/** A target's new value: the whole value, or one part of it between delimiters (past the end: appended). */
function spliced(current: string, value: string, options: Split | undefined): string {
  if (options?.delimiter === undefined) return value
  const parts = current.split(options.delimiter)
  const index = options.index ?? 0
  if (index < 0) parts.unshift(value)
  else if (index >= parts.length) parts.push(value)
  else parts[index] = value
  return parts.join(options.delimiter)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const folder = process.argv[2]
  if (!folder || !existsSync(join(folder, 'kustomization.yaml'))) {
    process.stderr.write('usage: node --import tsx deploy/kubernetes/render.ts <folder with a kustomization.yaml>\n')
    process.exit(2)
  }
  process.stdout.write(
    render(folder)
      .map((object) => stringify(object))
      .join('---\n'),
  )
}
