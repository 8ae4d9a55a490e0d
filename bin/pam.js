#!/usr/bin/env node
// In a checkout (src/ and the dev dependency tsx present) this runs the TypeScript source, so
// `npm start` needs no build and never runs a stale one; the container image ships only dist/.
import { existsSync } from 'node:fs'

// `.env` in the working directory fills the variables the environment does not set (as
// `node --env-file` and dotenv do); docker compose reads the same file.
if (existsSync('.env')) process.loadEnvFile('.env')

const source = new URL('../src/cli.ts', import.meta.url)
const tsx = existsSync(source) ? await import('tsx/esm/api').catch(() => undefined) : undefined
tsx?.register()
const cli = await import(tsx ? source.href : new URL('../dist/cli.js', import.meta.url).href)
await cli.main(process.argv.slice(2))
