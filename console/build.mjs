/**
 * Builds the console (console/src, and the client package it uses) into console/dist with
 * esbuild: one minified script and one stylesheet, no CDN, no external font, served by the API
 * at /console. `node console/build.mjs --if-stale` builds only when dist is missing or older than
 * a source file: `npm start` runs it, so a fresh clone serves the console after `npm install`
 * (about 0.3 s when it builds, a few ms when it does not); `npm run build` always builds.
 * Plain JavaScript, so it runs before anything is compiled.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const dist = join(here, 'dist')
const sources = [
  join(here, 'src'),
  join(here, 'index.html'),
  join(here, 'build.mjs'),
  join(here, '..', 'client', 'src'),
]
const stamp = join(dist, 'assets', 'app.js')

const newest = (path) => {
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))))
}

export function isStale() {
  return (
    !existsSync(stamp) ||
    !existsSync(join(dist, 'index.html')) ||
    Math.max(...sources.map(newest)) > statSync(stamp).mtimeMs
  )
}

export async function buildConsole() {
  // Loaded here: a production install (no dev dependencies) serves the dist the image was built with.
  const esbuild = await import('esbuild')
  const started = performance.now()
  mkdirSync(join(dist, 'assets'), { recursive: true })
  const result = await esbuild.build({
    entryPoints: { app: join(here, 'src', 'main.tsx') },
    outdir: join(dist, 'assets'),
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    metafile: true,
    logLevel: 'warning',
  })
  copyFileSync(join(here, 'index.html'), join(dist, 'index.html'))
  const bytes = Object.entries(result.metafile.outputs).reduce((total, [, output]) => total + output.bytes, 0)
  return { ms: Math.round(performance.now() - started), bytes }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--if-stale') && !isStale()) process.exit(0)
  try {
    const { ms, bytes } = await buildConsole()
    process.stdout.write(`console built into console/dist (${Math.round(bytes / 1024)} KB, ${ms} ms)\n`)
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error
    // Without dev dependencies the API still starts; /console then says how to build it.
    process.stderr.write('console not built: esbuild is a dev dependency (npm install, then npm run build)\n')
  }
}
