import { useEffect, useState } from 'preact/hooks'
import type { Alert, PamClient, paths } from '../../client/src/index.js'
import { problem, when } from './format.js'
import { Scroll } from './shell.js'

type Route = paths['/v1/monitors/{kind}/state']['get']
type Kind = Route['parameters']['path']['kind']
type State = Route['responses'][200]['content']['application/json']

/** Where each explained kind's alert names its subject (GET /v1/monitors/:kind/state?subject=). */
const SUBJECT_FIELDS: Record<Kind, string> = {
  fuel_low: 'vehicleId',
  budget_threshold: 'budgetId',
  maintenance_due: 'itemId',
}
const explained = (kind: string): kind is Kind => kind in SUBJECT_FIELDS

const summary = (value: Record<string, unknown> | null) =>
  value === null
    ? '—'
    : Object.entries(value)
        .filter(([, item]) => item === null || typeof item !== 'object')
        .map(([key, item]) => `${key} ${String(item)}`)
        .join(', ')

/**
 * Why, as of now: what the alert's monitor reads about its subject today, the verdict its rule
 * gives, and what each channel would decide now and why (quiet hours, minimum priority, the email
 * cap, an unconfirmed address, no push subscription…).
 */
export function WhyNow(props: { pam: PamClient; alert: Alert }) {
  const { alert } = props
  const kind = alert.kind
  const subject = explained(kind) ? (alert.data as Record<string, unknown>)[SUBJECT_FIELDS[kind]] : undefined
  const [state, setState] = useState<State | undefined>()
  const [error, setError] = useState<string | undefined>()
  useEffect(() => {
    if (!explained(kind) || typeof subject !== 'string') return
    props.pam
      .GET('/v1/monitors/{kind}/state', { params: { path: { kind }, query: { subject } } })
      .then(({ data, error: refused, response }) =>
        data ? setState(data) : setError(problem(refused, response.status)),
      )
  }, [kind, subject, alert.version])
  if (typeof subject !== 'string') return null
  if (error) return <p class="error">Why, as of now: {error}</p>
  if (!state) return <p>Reading why…</p>
  const { lastEvaluation, result } = state
  return (
    <>
      <h3>Why, as of now</h3>
      <dl>
        <dt>Last evaluated</dt>
        <dd>
          {when(lastEvaluation.evaluatedAt)}
          {lastEvaluation.pendingSince ? ` (a change waits since ${when(lastEvaluation.pendingSince)})` : ''}
        </dd>
        <dt>Verdict now</dt>
        <dd>{result.condition ? `${result.priority}: ${result.title}` : 'no condition: no alert wanted'}</dd>
        <dt>Thresholds</dt>
        <dd>{state.thresholds.map((t) => `${t.name} ${t.value} (${t.source})`).join(', ')}</dd>
        {state.inputs.map((input) => (
          <>
            <dt>{input.name}</dt>
            <dd>
              {summary(input.value)}
              {input.at ? ` (at ${when(input.at)})` : ''}
            </dd>
          </>
        ))}
      </dl>
      <Scroll label="Delivery decisions now">
        <table>
          <thead>
            <tr>
              <th scope="col">Channel</th>
              <th scope="col">Decision now</th>
              <th scope="col">Why</th>
              <th scope="col">Until</th>
            </tr>
          </thead>
          <tbody>
            {state.channels.map((channel) => (
              <tr key={channel.channel}>
                <td>{channel.channel}</td>
                <td>{channel.decision ?? '—'}</td>
                <td>{channel.reason ?? ''}</td>
                <td>{when(channel.until)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Scroll>
    </>
  )
}
