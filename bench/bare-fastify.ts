/**
 * The yardsticks of `bench/http.ts`, run as their own process so they get a core of their own as
 * `pam api` does: bare Fastify (no logger, hooks or plugins) answering `GET /health` with the same
 * body and response schema as PAM's, and `GET /alerts` running PAM's list query for BENCH_USER_ID
 * (the same SQL, one pg pool of the same size, rows mapped to the same body and JSON-serialized:
 * no auth, no rate limit) on DATABASE_URL. Listens on PORT.
 */
import Fastify from 'fastify'
import pg from 'pg'

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 })
const userId = process.env.BENCH_USER_ID

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
// PAM's list statement, word for word (alertPage: times made text by PostgreSQL, the snoozed left
// out), prepared once per connection as PAM prepares it, so that the two differ only in what PAM
// adds around the query.
const PAGE = {
  name: 'alerts_page',
  text: `select "id", "kind", "priority", "title", "body", "data", "text_source", "version", "feedback",
       to_char("created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "created_at",
       to_char("expires_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "expires_at",
       to_char("read_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "read_at",
       to_char("dismissed_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "dismissed_at",
       to_char("resolved_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "resolved_at",
       to_char("changed_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "changed_at",
       to_char("snoozed_until" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "snoozed_until",
       "created_at"::text as "page_key"
     from "alerts"
     where "user_id" = $1 and ("resolved_at" is null and "dismissed_at" is null and ("expires_at" is null or "expires_at" > now())
       and ("snoozed_until" is null or "snoozed_until" <= now()))
     order by "created_at" desc, "id" desc limit $2 + 1`,
}
app.get('/alerts', async () => {
  const { rows } = await pool.query({ ...PAGE, values: [userId, 50] })
  return {
    items: rows.slice(0, 50).map((row) => ({
      id: row.id,
      kind: row.kind,
      priority: row.priority,
      title: row.title,
      body: row.body,
      data: row.data,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      readAt: row.read_at,
      dismissedAt: row.dismissed_at,
      resolvedAt: row.resolved_at,
      textSource: row.text_source,
      version: Number(row.version),
      changedAt: row.changed_at,
      snoozedUntil: row.snoozed_until,
      feedback: row.feedback,
    })),
    nextCursor: null,
  }
})
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) })
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, async () => {
    await app.close()
    await pool.end()
  })
}
