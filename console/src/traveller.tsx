import { useEffect, useState } from 'preact/hooks'
import { type Alert, createPamClient, type PamClient, type paths, watch } from '../../client/src/index.js'
import { percent, problem, when } from './format.js'
import { WhyNow } from './monitor-state.js'
import { Scroll, Shell, SignInForm } from './shell.js'
import { BriefingsPanel, SettingsPanel, UsagePanel } from './traveller-panels.js'

/**
 * The traveller's view. The token lives in this page's memory only (never in storage or a URL of
 * this page): a reload signs out.
 */
export function TravellerView() {
  const [session, setSession] = useState<{ token: string; pam: PamClient; userId: string } | undefined>()
  const [error, setError] = useState<string | undefined>()
  const [demo, setDemo] = useState(false)

  useEffect(() => {
    fetch('/console/demo-token').then(
      (response) => setDemo(response.ok),
      () => setDemo(false),
    )
  }, [])

  const signIn = async (token: string) => {
    const pam = createPamClient({ baseUrl: location.origin, token })
    const { data, error: refused, response } = await pam.GET('/v1/me')
    if (!data) return setError(response.status === 401 ? 'That token was refused.' : problem(refused, response.status))
    setError(undefined)
    setSession({ token, pam, userId: data.id })
  }
  const signInAsDemo = async () => {
    const response = await fetch('/console/demo-token', { method: 'POST' })
    if (!response.ok) return setError('The demo sign-in is only there in development.')
    await signIn(((await response.json()) as { token: string }).token)
  }

  if (!session)
    return (
      <Shell view="traveller">
        <SignInForm
          intro="Paste a traveller's bearer token to see their alerts as PAM makes them."
          error={error}
          onSignIn={signIn}
        >
          {demo && (
            <p>
              <button type="button" class="secondary" onClick={signInAsDemo}>
                Sign in as the demo traveller
              </button>
            </p>
          )}
        </SignInForm>
      </Shell>
    )
  return (
    <Shell view="traveller" onSignOut={() => setSession(undefined)}>
      <Feed pam={session.pam} token={session.token} />
      <SettingsPanel pam={session.pam} />
      <BriefingsPanel pam={session.pam} />
      <UsagePanel pam={session.pam} />
    </Shell>
  )
}

const STATES: Record<string, string> = {
  connecting: 'connecting…',
  open: 'live',
  waiting: 'reconnecting…',
  closed: 'stopped',
  too_many_sockets: 'stopped: this traveller has too many streams open',
  token_expired: 'stopped: the token expired; sign in again',
  unauthorized: 'stopped: the token was refused; sign in again',
}

/** The live feed: the list read once, then every change from the stream (client.watch), merged by version. */
function Feed(props: { pam: PamClient; token: string }) {
  const [alerts, setAlerts] = useState<Map<string, Alert>>(new Map())
  const [state, setState] = useState('connecting')
  useEffect(() => {
    const merge = (alert: Alert) =>
      setAlerts((held) => {
        const current = held.get(alert.id)
        if (current && current.version >= alert.version) return held
        return new Map(held).set(alert.id, alert)
      })
    let listed = false
    const stream = watch({
      baseUrl: location.origin,
      token: props.token,
      onEvent: (event) => {
        if ('alert' in event) return merge(event.alert)
        // Resolved or expired: the event names the alert, and the change's time is when it closed.
        setAlerts((held) => {
          const current = held.get(event.alertId)
          if (!current || current.version >= event.version) return held
          const closed =
            event.type === 'alert.resolved' ? { resolvedAt: event.changedAt } : { expiresAt: event.changedAt }
          return new Map(held).set(current.id, {
            ...current,
            ...closed,
            version: event.version,
            changedAt: event.changedAt,
          })
        })
      },
      onStatus: async (status) => {
        setState(status.state)
        // Read after the socket is open, so nothing made in between is missed (the stream has it).
        if (status.state !== 'open' || listed) return
        listed = true
        const { data } = await props.pam.GET('/v1/alerts', { params: { query: { status: 'all', limit: 50 } } })
        for (const alert of data?.items ?? []) merge(alert)
      },
      onEnd: (end) => setState(end.reason),
    })
    return () => stream.close()
  }, [props.pam, props.token])

  const rows = [...alerts.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt))
  return (
    <section aria-labelledby="feed" class="card">
      <h2 id="feed">Alerts</h2>
      <p class="status" aria-live="polite">
        Stream: <span data-state={state}>{STATES[state] ?? state}</span>
      </p>
      {rows.length === 0 ? (
        <p>No alerts yet. They appear here the moment PAM makes them.</p>
      ) : (
        <ul class="alerts" aria-label="Alerts, newest first">
          {rows.map((alert) => (
            <AlertRow
              key={alert.id}
              alert={alert}
              pam={props.pam}
              onChange={(changed) => setAlerts((held) => new Map(held).set(changed.id, changed))}
            />
          ))}
        </ul>
      )}
    </section>
  )
}

const stateOf = (alert: Alert) =>
  alert.dismissedAt
    ? 'dismissed'
    : alert.resolvedAt
      ? 'resolved'
      : alert.expiresAt && alert.expiresAt < new Date().toISOString()
        ? 'expired'
        : alert.snoozedUntil && alert.snoozedUntil > new Date().toISOString()
          ? 'snoozed'
          : 'open'

const SNOOZE_MS = 3_600_000
/** The verdicts a traveller can give an alert, with their buttons' words. */
const VERDICTS = [
  ['useful', 'Useful'],
  ['not_useful', 'Not useful'],
] as const

type Marks = { read?: true; dismissed?: true; snoozedUntil?: string | null; feedback?: 'useful' | 'not_useful' }

function AlertRow(props: { alert: Alert; pam: PamClient; onChange: (alert: Alert) => void }) {
  const { alert } = props
  const [open, setOpen] = useState(false)
  const [error, setError] = useState<string | undefined>()
  const mark = async (change: Marks) => {
    const {
      data,
      error: refused,
      response,
    } = await props.pam.PATCH('/v1/alerts/{id}', {
      params: { path: { id: alert.id } },
      body: change,
    })
    if (!data) return setError(problem(refused, response.status))
    setError(undefined)
    props.onChange(data)
  }
  const state = stateOf(alert)
  const detailsId = `explain-${alert.id}`
  return (
    <li class={`alert ${state} ${alert.readAt ? 'read' : 'unread'}`} data-alert-id={alert.id}>
      <div class="alert-head">
        <span class={`priority ${alert.priority}`}>{alert.priority}</span>
        <strong class="title">{alert.title}</strong>
      </div>
      <p class="body">{alert.body}</p>
      <p class="meta">
        {alert.kind.replace('_', ' ')} · {when(alert.createdAt)} · <span class="state">{state}</span>
        {alert.readAt ? ' · read' : ''}
        {state === 'snoozed' && alert.snoozedUntil ? ` until ${when(alert.snoozedUntil)}` : ''}
      </p>
      <div class="actions">
        <button type="button" aria-expanded={open} aria-controls={detailsId} onClick={() => setOpen(!open)}>
          {open ? 'Hide explanation' : 'Explain'}
        </button>
        {!alert.readAt && (
          <button type="button" class="secondary" onClick={() => mark({ read: true })}>
            Mark read
          </button>
        )}
        {!alert.dismissedAt && (
          <button type="button" class="secondary" onClick={() => mark({ dismissed: true })}>
            Dismiss
          </button>
        )}
        {state === 'open' && (
          <button
            type="button"
            class="secondary"
            onClick={() => mark({ snoozedUntil: new Date(Date.now() + SNOOZE_MS).toISOString() })}
          >
            Snooze 1 h
          </button>
        )}
        {state === 'snoozed' && (
          <button type="button" class="secondary" onClick={() => mark({ snoozedUntil: null })}>
            Unsnooze
          </button>
        )}
        {VERDICTS.map(([feedback, label]) => (
          <button
            key={feedback}
            type="button"
            class="secondary"
            aria-pressed={alert.feedback === feedback}
            onClick={() => mark({ feedback })}
          >
            {label}
          </button>
        ))}
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {open && <Explanation id={detailsId} alert={alert} pam={props.pam} />}
    </li>
  )
}

const EXPLAINED = new Set(['threshold', 'observedAt', 'ruleVersion'])

/** Why the alert was made: the rule's inputs, the threshold crossed, the data's time, the rule version, the text's source, and where it was sent. */
function Explanation(props: { id: string; alert: Alert; pam: PamClient }) {
  const { alert } = props
  const data = alert.data as Record<string, unknown>
  const [deliveries, setDeliveries] = useState<Deliveries | undefined>()
  useEffect(() => {
    props.pam
      .GET('/v1/alerts/{id}/deliveries', { params: { path: { id: alert.id } } })
      .then(({ data: body }) => setDeliveries(body?.items ?? []))
  }, [alert.id, alert.version])
  const inputs = Object.entries(data).filter(([key]) => !EXPLAINED.has(key))
  return (
    <div class="explanation" id={props.id}>
      <dl>
        <dt>Threshold crossed</dt>
        <dd>{show(data.threshold)}</dd>
        <dt>Data from</dt>
        <dd>{when(data.observedAt as string | undefined)}</dd>
        <dt>Rule version</dt>
        <dd>{show(data.ruleVersion)}</dd>
        <dt>Text written by</dt>
        <dd>{alert.textSource === 'template' ? 'template' : `model (${alert.textSource})`}</dd>
        {inputs.map(([key, value]) => (
          <>
            <dt>{key}</dt>
            <dd>{show(value)}</dd>
          </>
        ))}
      </dl>
      <h3>Deliveries</h3>
      {!deliveries ? (
        <p>Reading…</p>
      ) : deliveries.length === 0 ? (
        <p>Not sent on any channel (none is on, or none is due).</p>
      ) : (
        <Scroll label="Deliveries">
          <table>
            <thead>
              <tr>
                <th scope="col">Channel</th>
                <th scope="col">Status</th>
                <th scope="col">Sent</th>
                <th scope="col">Deferred until</th>
                <th scope="col">Attempts</th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.map((delivery) => (
                <tr key={delivery.channel}>
                  <td>{delivery.channel}</td>
                  <td>{delivery.status}</td>
                  <td>{when(delivery.sentAt)}</td>
                  <td>{when(delivery.deferredUntil)}</td>
                  <td>{delivery.attempts}</td>
                  <td>{delivery.reason ?? delivery.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      )}
      <WhyNow pam={props.pam} alert={alert} />
    </div>
  )
}

type Deliveries = paths['/v1/alerts/{id}/deliveries']['get']['responses'][200]['content']['application/json']['items']

/** A value of the alert's data, as a person reads it. */
function show(value: unknown): string {
  if (value === null || value === undefined) return '—'
  if (typeof value === 'number') return value > 0 && value < 1 ? `${value} (${percent(value)})` : String(value)
  if (typeof value === 'string') return /^\d{4}-\d\d-\d\dT/.test(value) ? when(value) : value
  if (Array.isArray(value))
    return value.map((item) => (typeof item === 'object' ? summary(item) : String(item))).join('; ')
  return summary(value)
}

const summary = (value: unknown) =>
  Object.entries(value as Record<string, unknown>)
    .map(([key, item]) => `${key} ${typeof item === 'number' ? item : String(item)}`)
    .join(', ')
