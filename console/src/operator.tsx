import { useEffect, useState } from 'preact/hooks'
import { percent, usd, when } from './format.js'
import { Scroll, Shell, SignInForm } from './shell.js'

/** What GET /admin/console/overview answers (src/http/routes/console-operator.ts). */
interface Overview {
  now: string
  schedules: {
    id: string
    queue: string
    task: string
    cadence: string
    tz: string
    nextRunAt: string | null
    lastRunAt: string | null
    missedRuns: number | null
  }[]
  monitorRuns: {
    id: string
    monitor: string
    status: string
    startedAt: string
    durationMs: number | null
    usersEvaluated: number
    alertsCreated: number
  }[]
  queues: { queue: string; counts: Record<string, number> }[]
  workers: { id: string; role: string; host: string; queues: string[]; concurrency: number; lastBeatAt: string }[]
  failedJobs: {
    id: string
    queue: string
    task: string
    reason: string
    attemptsMade: number
    failedAt: string | null
  }[]
  operatorAlerts: {
    condition: string
    kind: string
    status: string
    summary: string
    raisedAt: string
    resolvedAt: string | null
  }[]
  deliveriesLastHour: { channel: string; sent: number; failed: number }[]
  providersLastHour: { provider: string; succeeded: number; failed: number; failureRatio: number }[]
  aiToday: { day: string; capUsd: number; spentUsd: number }
}

const REFRESH_MS = 5_000
const STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed', 'paused']

/**
 * The operator's view, on the queue dashboard's session: signing in here posts the internal token
 * to /admin/login, which sets an HttpOnly cookie scoped to /admin; the token is kept nowhere in
 * the page. The overview is read again every few seconds.
 */
export function OperatorView() {
  const [overview, setOverview] = useState<Overview | undefined>()
  const [signedIn, setSignedIn] = useState<boolean | undefined>()
  const [error, setError] = useState<string | undefined>()

  const read = async () => {
    const response = await fetch('/admin/console/overview', { headers: { accept: 'application/json' } })
    if (response.status === 401) return setSignedIn(false)
    if (!response.ok) return setError(`the overview answered ${response.status}`)
    setSignedIn(true)
    setError(undefined)
    setOverview((await response.json()) as Overview)
  }
  useEffect(() => {
    read()
    const timer = setInterval(() => signedIn !== false && read(), REFRESH_MS)
    return () => clearInterval(timer)
  }, [signedIn])

  const signIn = async (token: string) => {
    // A success is a redirect to the dashboard, not followed: the cookie is what counts.
    const response = await fetch('/admin/login', {
      method: 'POST',
      body: new URLSearchParams({ token }),
      redirect: 'manual',
    })
    if (response.status === 401) return setError('That token is not the internal token.')
    if (response.status === 429) return setError('Too many sign-ins from here: wait a minute.')
    setError(undefined)
    await read()
  }
  const signOut = async () => {
    await fetch('/admin/logout', { method: 'POST', redirect: 'manual' })
    setOverview(undefined)
    setSignedIn(false)
  }

  if (signedIn === false)
    return (
      <Shell view="operator">
        <SignInForm
          intro="Sign in with the internal token (npx pam token --internal). It opens the queue dashboard's session too."
          error={error}
          onSignIn={signIn}
        />
      </Shell>
    )
  if (!overview)
    return (
      <Shell view="operator">
        <p>{error ?? 'Reading…'}</p>
      </Shell>
    )
  return (
    <Shell view="operator" onSignOut={signOut}>
      <p class="status">
        As of {when(overview.now)} · <a href="/admin/queues">Queue dashboard</a>
      </p>
      <Schedules overview={overview} />
      <Queues overview={overview} />
      <section aria-labelledby="runs" class="card">
        <h2 id="runs">Recent monitor runs</h2>
        {overview.monitorRuns.length === 0 ? (
          <p>No sweep has run yet.</p>
        ) : (
          <Scroll label="Recent monitor runs">
            <table>
              <thead>
                <tr>
                  <th scope="col">Monitor</th>
                  <th scope="col">Status</th>
                  <th scope="col">Started</th>
                  <th scope="col">Duration</th>
                  <th scope="col">Travellers evaluated</th>
                  <th scope="col">Alerts opened</th>
                </tr>
              </thead>
              <tbody>
                {overview.monitorRuns.map((run) => (
                  <tr key={run.id}>
                    <td>{run.monitor}</td>
                    <td>{run.status}</td>
                    <td>{when(run.startedAt)}</td>
                    <td>{run.durationMs === null ? 'running' : `${(run.durationMs / 1000).toFixed(1)} s`}</td>
                    <td>{run.usersEvaluated}</td>
                    <td>{run.alertsCreated}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Scroll>
        )}
      </section>
      <section aria-labelledby="operator-alerts" class="card">
        <h2 id="operator-alerts">Operator alerts</h2>
        {overview.operatorAlerts.length === 0 ? (
          <p>None raised.</p>
        ) : (
          <ul>
            {overview.operatorAlerts.map((alert) => (
              <li key={alert.condition + alert.raisedAt} class={alert.status}>
                <strong>{alert.status}</strong> {alert.summary} (raised {when(alert.raisedAt)}
                {alert.resolvedAt ? `, resolved ${when(alert.resolvedAt)}` : ''})
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="deliveries" class="card">
        <h2 id="deliveries">Deliveries, last hour</h2>
        {overview.deliveriesLastHour.length === 0 ? (
          <p>None sent or failed.</p>
        ) : (
          <ul>
            {overview.deliveriesLastHour.map((row) => (
              <li key={row.channel}>
                {row.channel}: {row.sent} sent, {row.failed} failed
              </li>
            ))}
          </ul>
        )}
        <h2 id="providers">Providers, last hour</h2>
        {overview.providersLastHour.length === 0 ? (
          <p>No lookups.</p>
        ) : (
          <ul aria-labelledby="providers">
            {overview.providersLastHour.map((row) => (
              <li key={row.provider}>
                {row.provider}: {percent(row.failureRatio)} failed ({row.failed} of {row.succeeded + row.failed})
              </li>
            ))}
          </ul>
        )}
        <h2 id="ai">AI spend today</h2>
        <p>
          {usd(overview.aiToday.spentUsd)} of the {usd(overview.aiToday.capUsd)} daily budget (
          {percent(overview.aiToday.capUsd > 0 ? overview.aiToday.spentUsd / overview.aiToday.capUsd : 0)}, UTC day{' '}
          {overview.aiToday.day})
        </p>
      </section>
    </Shell>
  )
}

function Schedules({ overview }: { overview: Overview }) {
  return (
    <section aria-labelledby="schedules" class="card">
      <h2 id="schedules">Schedules</h2>
      <Scroll label="Schedules">
        <table>
          <thead>
            <tr>
              <th scope="col">Schedule</th>
              <th scope="col">Cadence</th>
              <th scope="col">Last run</th>
              <th scope="col">Next run</th>
              <th scope="col">Missed runs</th>
            </tr>
          </thead>
          <tbody>
            {overview.schedules.map((schedule) => (
              <tr key={schedule.id} class={schedule.missedRuns ? 'late' : ''}>
                <th scope="row">{schedule.id}</th>
                <td>
                  {schedule.cadence} ({schedule.tz})
                </td>
                <td>{schedule.lastRunAt ? when(schedule.lastRunAt) : 'not yet'}</td>
                <td>{when(schedule.nextRunAt)}</td>
                <td>{schedule.missedRuns ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Scroll>
    </section>
  )
}

function Queues({ overview }: { overview: Overview }) {
  return (
    <section aria-labelledby="queues" class="card">
      <h2 id="queues">Queues</h2>
      <Scroll label="Queue depths by state">
        <table>
          <thead>
            <tr>
              <th scope="col">Queue</th>
              {STATES.map((state) => (
                <th scope="col" key={state}>
                  {state}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {overview.queues.map((row) => (
              <tr key={row.queue}>
                <th scope="row">
                  <a href={`/admin/queues/queue/${encodeURIComponent(row.queue)}`}>{row.queue}</a>
                </th>
                {STATES.map((state) => (
                  <td key={state}>{row.counts[state] ?? 0}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </Scroll>
      <h3>Live workers</h3>
      {overview.workers.length === 0 ? (
        <p>No worker is running.</p>
      ) : (
        <ul>
          {overview.workers.map((worker) => (
            <li key={worker.id}>
              {worker.role} on {worker.host}: {worker.queues.join(', ')} (concurrency {worker.concurrency}, beat{' '}
              {when(worker.lastBeatAt)})
            </li>
          ))}
        </ul>
      )}
      <h3>Jobs failed for good</h3>
      {overview.failedJobs.length === 0 ? (
        <p>None.</p>
      ) : (
        <ul class="failed-jobs">
          {overview.failedJobs.map((job) => (
            <li key={`${job.queue}:${job.id}`}>
              <a href={`/admin/queues/queue/${encodeURIComponent(job.queue)}?status=failed`}>
                {job.task} #{job.id}
              </a>{' '}
              in {job.queue}, failed {when(job.failedAt)} after {job.attemptsMade} attempts: {job.reason}
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
