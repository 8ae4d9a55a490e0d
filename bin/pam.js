#!/usr/bin/env node
// In a checkout (src/ and the dev dependency tsx present) this runs the TypeScript source, so
// `npm start` needs no build and never runs a stale one; the container image ships only dist/.
import { existsSync, readFileSync } from 'node:fs'

// `.env` in the working directory fills the variables the environment does not set (as
// `node --env-file` and dotenv do); docker compose reads the same file.
if (existsSync('.env')) process.loadEnvFile('.env')

// A Node older than package.json's engines runs PAM, 2-3x slower and untested: said once, before
// the seconds it takes to load, when a role starts and in the help (not in every command's output).
const [command] = process.argv.slice(2)
const atStart = ['start', 'api', 'worker', 'scheduler', 'help', '--help', '-h', undefined].includes(command)
const { engines } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const floor = Number(/\d+/.exec(engines.node)?.[0])
if ((atStart || process.argv.includes('--help')) && Number(process.versions.node.split('.')[0]) < floor) {
  process.stderr.write(
    `pam: warning: this is Node ${process.versions.node}; PAM needs Node ${floor} or newer (package.json engines: ${engines.node}). It runs, 2-3x slower and untested: install Node ${floor} (e.g. nvm install ${floor}).\n`,
  )
}

const source = new URL('../src/app/cli.ts', import.meta.url)
const tsx = existsSync(source) ? await import('tsx/esm/api').catch(() => undefined) : undefined
tsx?.register()
const cli = await import(tsx ? source.href : new URL('../dist/app/cli.js', import.meta.url).href)
await cli.main(process.argv.slice(2))
