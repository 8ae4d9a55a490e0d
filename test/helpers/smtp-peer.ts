import type { AddressInfo } from 'node:net'
import { type ParsedMail, simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'

/**
 * A real SMTP server on loopback (smtp-server), every accepted message parsed (mailparser).
 * `refuse` answers the DATA with that SMTP code, `refuseTo` does for messages to one address;
 * `beforeAccept` runs once a message is received and before the sender is told it was accepted
 * (a fault to inject at that instant); `stop`/`start` take it off and back on its port.
 */
export async function startSmtpPeer() {
  const state = {
    mails: [] as ParsedMail[],
    refuse: undefined as number | undefined,
    refuseTo: new Map<string, number>(),
    beforeAccept: undefined as ((mail: ParsedMail) => Promise<void>) | undefined,
    port: 0,
  }
  let server: SMTPServer | undefined
  const open = () =>
    new Promise<void>((resolve, reject) => {
      const smtp = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        onData(stream, session, callback) {
          simpleParser(stream)
            .then((mail) => {
              const refuse =
                state.refuse ?? session.envelope.rcptTo.map((to) => state.refuseTo.get(to.address)).find(Boolean)
              if (refuse) {
                const error = Object.assign(new Error('refused by the test'), { responseCode: refuse })
                return callback(error)
              }
              state.mails.push(mail)
              return (state.beforeAccept?.(mail) ?? Promise.resolve()).then(() => callback())
            })
            .catch(callback)
        },
      })
      server = smtp
      smtp.on('error', () => undefined)
      smtp.listen(state.port, '127.0.0.1', () => {
        state.port = (smtp.server.address() as AddressInfo).port
        resolve()
      })
      smtp.server.once('error', reject)
    })
  await open()
  return {
    state,
    get url() {
      return `smtp://127.0.0.1:${state.port}`
    },
    start: open,
    async stop() {
      const closing = server
      server = undefined
      if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()))
    },
  }
}
export type SmtpPeer = Awaited<ReturnType<typeof startSmtpPeer>>
