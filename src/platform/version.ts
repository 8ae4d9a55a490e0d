import { readFileSync } from 'node:fs'

/** The package version; src/ and dist/ sit at the same depth, so one relative path serves both. */
export const VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version
