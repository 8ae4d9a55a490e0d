import { randomBytes } from 'node:crypto'
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import webPush from 'web-push'
import type { VapidKeys } from '../../delivery/channels/push-channel.js'
import { type Footprint, keepEverything } from '../../platform/footprint.js'

export interface DevSecrets {
  jwtSecret: string
  internalToken: string
  databasePassword: string
}

/**
 * Secrets generated once per checkout into PAM_HOME, so a fresh machine runs with no setup
 * and a token minted today still verifies tomorrow. Production never gets here (config refuses).
 */
export const loadDevSecrets = (home: string, footprint: Footprint = keepEverything): Promise<DevSecrets> =>
  loadOnce(home, 'secrets.json', footprint, () => ({
    jwtSecret: randomBytes(32).toString('base64url'),
    internalToken: randomBytes(32).toString('base64url'),
    databasePassword: randomBytes(18).toString('base64url'),
  }))

/**
 * Web Push keys for a checkout, in their own file: a browser subscribed with them stays
 * subscribed across restarts, and checkouts that already have secrets.json get them too.
 */
export const loadDevVapidKeys = (home: string, footprint: Footprint = keepEverything): Promise<VapidKeys> =>
  loadOnce(home, 'vapid.json', footprint, () => webPush.generateVAPIDKeys())

async function loadOnce<T>(home: string, name: string, footprint: Footprint, generate: () => T): Promise<T> {
  const file = join(home, name)
  const existing = await readSecrets<T>(file)
  if (existing) return existing
  const fresh = generate()
  footprint.folder(await mkdir(home, { recursive: true }))
  // Written aside, then linked into place: link fails if the file exists, so when two roles
  // start at once the first complete file wins and both read it.
  const draft = `${file}.${process.pid}`
  await writeFile(draft, `${JSON.stringify(fresh, null, 2)}\n`, { mode: 0o600 })
  try {
    await link(draft, file)
    footprint.file(file)
    return fresh
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    const winner = await readSecrets<T>(file)
    if (!winner) throw new Error(`${file} exists but could not be read`)
    return winner
  } finally {
    await unlink(draft)
  }
}

async function readSecrets<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new Error(`${file} is unreadable; delete it to generate new dev secrets`, { cause: error })
  }
}
