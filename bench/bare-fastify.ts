/**
 * The yardsticks of `bench/http.ts`, run as their own process so they get a core of their own as
 * `pam api` does: bare Fastify (no logger, hooks or plugins) answering `GET /health` with the same
 * body and response schema as PAM's, and `GET /alerts` running PAM's list query for BENCH_USER_ID
 * (the same SQL, one pg pool of the same size, rows mapped and JSON-serialized: no auth, no rate
 * limit) on DATABASE_URL. Listens on PORT.
 */
import Fastify from 'fastify'
import pg from 'pg'

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 })
const userId = process.env.BENCH_USER_ID
const iso = (date: Date | null) => date?.toISOString() ?? null

const app = Fastify({ logger: false })
app.get(
  '/health',
  {
    schema: {
      response: {
        200: {
          type: 'object',
          properties: {
            status: { type: 'string' },
            timestamp: { type: 'string' },
            service: { type: 'string' },
            version: { type: 'string' },
          },
        },
      },
    },
  },
  async () => ({ status: 'healthy', timestamp: new Date().toISOString(), service: 'bare', version: '0' }),
)
app.get('/alerts', async () => {
  const { rows } = await pool.query(
    `select *, created_at::text as page_key from alerts
     where user_id = $1 and resolved_at is null and dismissed_at is null and (expires_at is null or expires_at > now())
     order by created_at desc, id desc limit $2`,
    [userId, 51],
  )
  return {
    items: rows.slice(0, 50).map((row) => ({
      id: row.id,
      kind: row.kind,
      priority: row.priority,
      title: row.title,
      body: row.body,
      data: row.data,
      createdAt: iso(row.created_at),
      expiresAt: iso(row.expires_at),
      readAt: iso(row.read_at),
      dismissedAt: iso(row.dismissed_at),
      resolvedAt: iso(row.resolved_at),
      textSource: row.text_source,
    })),
    next: null,
  }
})
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) })
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, async () => {
    await app.close()
    await pool.end()
  })
}
