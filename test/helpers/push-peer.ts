import { execFileSync } from 'node:child_process'
import { createDecipheriv, createECDH, hkdfSync, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { importJWK, jwtVerify } from 'jose'
import { messageOf } from '../../src/platform/errors/error-message.js'
import { tempFolder } from './cleanup.js'

/** A browser's side of a subscription: its key pair and auth secret, as PushManager makes them. */
export function browserKeys() {
  const ecdh = createECDH('prime256v1')
  ecdh.generateKeys()
  const auth = randomBytes(16)
  return {
    ecdh,
    auth,
    keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') },
  }
}
type BrowserKeys = ReturnType<typeof browserKeys>

/** RFC 8291 + RFC 8188 (aes128gcm), as a browser decrypts a push: one record. */
export function decryptPush(body: Buffer, browser: BrowserKeys): string {
  const salt = body.subarray(0, 16)
  const idLength = body.readUInt8(20)
  const serverKey = body.subarray(21, 21 + idLength)
  const ciphertext = body.subarray(21 + idLength)
  const secret = browser.ecdh.computeSecret(serverKey)
  const info = Buffer.concat([Buffer.from('WebPush: info\0'), browser.ecdh.getPublicKey(), serverKey])
  const ikm = Buffer.from(hkdfSync('sha256', secret, browser.auth, info, 32))
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16))
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12))
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce)
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16))
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()])
  let end = padded.length - 1
  while (end >= 0 && padded[end] === 0) end -= 1
  if (padded[end] !== 2) throw new Error('the last record does not end with the padding delimiter 2')
  return padded.subarray(0, end).toString('utf8')
}

export interface ReceivedPush {
  path: string
  payload: string
  headers: Record<string, string | string[] | undefined>
}

/**
 * A push service on loopback HTTPS (self-signed certificate: `ca` for the channel to trust). Every request
 * must carry a valid VAPID `Authorization: vapid t=…, k=…` for `vapidPublicKey` and this origin;
 * its payload is decrypted with the browser keys registered for its path. `answer` sets a path's
 * status (404/410: the subscription is gone).
 */
export async function startPushPeer(vapidPublicKey: string) {
  const folder = tempFolder()
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(folder, 'key.pem'),
      '-out',
      join(folder, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  )
  const cert = readFileSync(join(folder, 'cert.pem'))
  const browsers = new Map<string, BrowserKeys>()
  const state = { received: [] as ReceivedPush[], refused: [] as string[], answer: new Map<string, number>() }
  let origin = ''
  const key = await importJWK(
    (() => {
      const raw = Buffer.from(vapidPublicKey, 'base64url')
      return {
        kty: 'EC',
        crv: 'P-256',
        x: raw.subarray(1, 33).toString('base64url'),
        y: raw.subarray(33, 65).toString('base64url'),
      }
    })(),
    'ES256',
  )
  const server: Server = createServer({ key: readFileSync(join(folder, 'key.pem')), cert }, (request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', async () => {
      const path = request.url ?? '/'
      try {
        const match = /^vapid t=([^,]+), k=(.+)$/.exec(String(request.headers.authorization ?? ''))
        if (!match || match[2] !== vapidPublicKey) throw new Error('no VAPID authorization for this key')
        await jwtVerify(match[1] as string, key, { audience: origin })
        if (request.headers['content-encoding'] !== 'aes128gcm') throw new Error('not aes128gcm')
        const status = state.answer.get(path) ?? 201
        if (status >= 400) {
          response.writeHead(status).end()
          return
        }
        const browser = browsers.get(path)
        if (!browser) throw new Error(`no browser subscribed at ${path}`)
        state.received.push({ path, payload: decryptPush(Buffer.concat(chunks), browser), headers: request.headers })
        response.writeHead(201).end()
      } catch (error) {
        state.refused.push(`${path}: ${messageOf(error)}`)
        response.writeHead(400).end(messageOf(error))
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    state,
    ca: cert,
    /** A new browser subscription at this push service: what the browser POSTs to PAM. */
    subscribe() {
      const browser = browserKeys()
      const path = `/push/${randomBytes(8).toString('hex')}`
      browsers.set(path, browser)
      return { path, endpoint: `${origin}${path}`, keys: browser.keys }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
export type PushPeer = Awaited<ReturnType<typeof startPushPeer>>
