import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { eventually } from './harness.js'
import type { SmtpPeer } from './smtp-peer.js'

const isConfirmation = (address: string) => (mail: SmtpPeer['state']['mails'][number]) =>
  /^Confirm your address/.test(mail.subject ?? '') && JSON.stringify(mail.to ?? '').includes(address)

/** The confirmation link the SMTP peer received for `address` (waiting for it to arrive). */
export async function confirmationLink(smtp: SmtpPeer, address: string, timeoutMs = 30_000): Promise<string> {
  const mail = await eventually(
    async () => smtp.state.mails.findLast(isConfirmation(address)),
    timeoutMs,
    `a confirmation email to ${address}`,
  )
  const link = /\/confirm-email\?token=[\w.-]+/.exec(mail.text ?? '')?.[0]
  assert.ok(link, mail.text)
  return link
}

/** How a test opens a link: app.inject in process, fetch against a running API. */
export type OpenLink = (method: 'GET' | 'POST', url: string) => Promise<{ statusCode: number; body: string }>

/**
 * Confirms `address` as its owner does: opens the link from the mailbox (a page with a button,
 * changing nothing), then presses the button. The confirmation email is then taken out of the
 * mailbox, so a test counts only the emails that follow.
 */
export async function confirmAddress(open: OpenLink, smtp: SmtpPeer, address: string): Promise<void> {
  const link = await confirmationLink(smtp, address)
  const page = await open('GET', link)
  assert.equal(page.statusCode, 200, page.body)
  assert.match(page.body, /<form method="post">/)
  const confirmed = await open('POST', link)
  assert.equal(confirmed.statusCode, 200, confirmed.body)
  for (let i = smtp.state.mails.length - 1; i >= 0; i--) {
    if (isConfirmation(address)(smtp.state.mails[i] as SmtpPeer['state']['mails'][number]))
      smtp.state.mails.splice(i, 1)
  }
}

/** confirmAddress through an app in this process. */
export const followConfirmation = (app: FastifyInstance, smtp: SmtpPeer, address: string): Promise<void> =>
  confirmAddress((method, url) => app.inject({ method, url }), smtp, address)
