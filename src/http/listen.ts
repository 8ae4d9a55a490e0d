import type { FastifyInstance } from 'fastify'

/** Listens, or closes the app and says which setting to change. */
export async function listenOrExplain(app: FastifyInstance, host: string, port: number, variable: string) {
  try {
    await app.listen({ host, port })
  } catch (error) {
    await app.close()
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') throw new Error(`port ${port} is already in use (set ${variable} to another one)`)
    if (code === 'EACCES') throw new Error(`not allowed to listen on port ${port} (set ${variable} above 1024)`)
    if (code === 'EADDRNOTAVAIL') throw new Error(`HOST ${host} is not an address of this machine`)
    throw error
  }
}
