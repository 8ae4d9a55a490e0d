import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { confirmEmailAddress } from '../../delivery/notification-settings-repository.js'
import type { ConfirmationLinks, UnsubscribeLinks } from '../../delivery/unsubscribe-link.js'
import { useUnsubscribeLink } from '../../delivery/unsubscribe-repository.js'
import type { Db } from '../../platform/db/database.js'

const page = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title}</title></head><body style="font-family:sans-serif;max-width:32em;margin:3em auto"><h1>${title}</h1>${body}</body></html>`

const Query = Type.Object({ token: Type.String({ minLength: 1, maxLength: 2000 }) })

/**
 * The links in PAM's emails, followed without signing in: the signed token names the traveller.
 * GET only shows a button (mail scanners follow links, and must neither unsubscribe anyone nor
 * confirm an address for its owner); POST acts. The one-click unsubscribe's POST is what mail
 * clients send for List-Unsubscribe-Post (RFC 8058).
 */
export const unsubscribeRoutes: FastifyPluginAsyncTypebox<{
  db: Db
  links: UnsubscribeLinks
  confirmations: ConfirmationLinks
}> = async (app, deps) => {
  // RFC 8058's body is "List-Unsubscribe=One-Click", form-encoded or multipart: only the token counts.
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 4096 }, (_request, _body, done) => done(null, {}))
  const invalid = page(
    'This link does not work',
    '<p>It has expired or was changed. Turn emails off in the app under notification settings.</p>',
  )
  app.get('/unsubscribe', { schema: { hide: true, querystring: Query } }, async (request, reply) => {
    const { token } = request.query
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store')
    if (!(await deps.links.verify(token))) return reply.code(400).send(invalid)
    return page(
      'Stop PAM emails?',
      `<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Turn alert emails off</button></form><p>Pushes and the app are not affected.</p>`,
    )
  })
  app.post('/unsubscribe', { schema: { hide: true, querystring: Query } }, async (request, reply) => {
    const { token } = request.query
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store')
    const link = await deps.links.verify(token)
    if (!link) return reply.code(400).send(invalid)
    if (!(await useUnsubscribeLink(deps.db, link.userId, link.linkId))) {
      return reply
        .code(410)
        .send(
          page('This link was already used', '<p>Turn emails on or off in the app under notification settings.</p>'),
        )
    }
    return page('PAM emails are off', '<p>Turn them on again in the app under notification settings.</p>')
  })

  const confirm = (confirmed: boolean) =>
    confirmed
      ? page('Address confirmed', '<p>PAM sends your alert emails here from now on.</p>')
      : page(
          'This link does not work',
          '<p>It has expired, or the address was changed since it was sent. Saving the address again in the app sends a new link.</p>',
        )
  app.get('/confirm-email', { schema: { hide: true, querystring: Query } }, async (request, reply) => {
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store')
    if (!(await deps.confirmations.verify(request.query.token))) return reply.code(400).send(confirm(false))
    return page(
      'Confirm this address for PAM?',
      '<form method="post"><button type="submit">Yes, send my PAM alerts here</button></form><p>Not you? Close this page: nothing will be sent.</p>',
    )
  })
  app.post('/confirm-email', { schema: { hide: true, querystring: Query } }, async (request, reply) => {
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store')
    const link = await deps.confirmations.verify(request.query.token)
    const confirmed = link ? await confirmEmailAddress(deps.db, link.userId, link.isAddress) : false
    return reply.code(confirmed ? 200 : 400).send(confirm(confirmed))
  })
}
