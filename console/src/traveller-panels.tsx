import { useEffect, useState } from 'preact/hooks'
import type { PamClient, paths } from '../../client/src/index.js'
import { problem, usd, when } from './format.js'

type Settings = paths['/v1/me/notification-settings']['get']['responses'][200]['content']['application/json']
type Briefing = paths['/v1/briefings']['get']['responses'][200]['content']['application/json']['items'][number]
type Usage = paths['/v1/me/ai-usage']['get']['responses'][200]['content']['application/json']
const PRIORITIES = ['low', 'medium', 'high', 'urgent'] as const

/** The notification settings form: channels, their thresholds, quiet hours in the traveller's zone, the digest, AI. */
export function SettingsPanel(props: { pam: PamClient }) {
  const [settings, setSettings] = useState<Settings | undefined>()
  const [zone, setZone] = useState<string | undefined>()
  const [message, setMessage] = useState<{ text: string; error: boolean } | undefined>()
  useEffect(() => {
    props.pam.GET('/v1/me/notification-settings').then(({ data }) => setSettings(data))
    props.pam.GET('/v1/me').then(({ data }) => setZone(data?.timezone ?? 'UTC'))
  }, [props.pam])
  // The form shows once both have arrived: a render sets every field back to `settings`, so the
  // zone arriving after the traveller began editing undid their edits.
  if (!settings || zone === undefined)
    return (
      <section aria-labelledby="settings" class="card">
        <h2 id="settings">Notification settings</h2>
        <p>Reading…</p>
      </section>
    )

  const save = async (event: Event) => {
    event.preventDefault()
    const form = new FormData(event.currentTarget as HTMLFormElement)
    const text = (name: string) => String(form.get(name) ?? '')
    const body = {
      email: {
        address: text('email-address') || null,
        enabled: form.has('email-enabled'),
        minPriority: text('email-min') as Settings['email']['minPriority'],
      },
      push: { enabled: form.has('push-enabled'), minPriority: text('push-min') as Settings['push']['minPriority'] },
      quietHours: form.has('quiet-enabled') ? { start: text('quiet-start'), end: text('quiet-end') } : null,
      digest: { enabled: form.has('digest-enabled'), at: text('digest-at') },
      ai: { enabled: form.has('ai-enabled') },
    }
    const { data, error, response } = await props.pam.PUT('/v1/me/notification-settings', { body })
    if (!data) return setMessage({ text: problem(error, response.status), error: true })
    setSettings(data)
    setMessage({ text: 'Saved.', error: false })
  }
  const priority = (name: string, value: string, label: string) => (
    <>
      <label for={name}>{label}</label>
      <select id={name} name={name} value={value}>
        {PRIORITIES.map((p) => (
          <option key={p} value={p}>
            {p}
          </option>
        ))}
      </select>
    </>
  )
  return (
    <section aria-labelledby="settings" class="card">
      <h2 id="settings">Notification settings</h2>
      <form onSubmit={save} class="settings">
        <fieldset>
          <legend>Email</legend>
          <label for="email-address">Address</label>
          <input id="email-address" name="email-address" type="email" value={settings.email.address ?? ''} />
          <p class="hint">
            {settings.email.address
              ? settings.email.verified
                ? 'Confirmed.'
                : 'Not confirmed yet: follow the link PAM emailed to it.'
              : 'No address.'}
          </p>
          <label class="check">
            <input name="email-enabled" type="checkbox" checked={settings.email.enabled} /> Email alerts
          </label>
          {priority('email-min', settings.email.minPriority, 'Email from priority')}
        </fieldset>
        <fieldset>
          <legend>Push</legend>
          <label class="check">
            <input name="push-enabled" type="checkbox" checked={settings.push.enabled} /> Push alerts
          </label>
          {priority('push-min', settings.push.minPriority, 'Push from priority')}
        </fieldset>
        <fieldset>
          <legend>Quiet hours ({zone})</legend>
          <label class="check">
            <input name="quiet-enabled" type="checkbox" checked={settings.quietHours !== null} /> Hold alerts during
            quiet hours
          </label>
          <label for="quiet-start">From</label>
          <input id="quiet-start" name="quiet-start" type="time" value={settings.quietHours?.start ?? '22:00'} />
          <label for="quiet-end">Until</label>
          <input id="quiet-end" name="quiet-end" type="time" value={settings.quietHours?.end ?? '07:00'} />
        </fieldset>
        <fieldset>
          <legend>Digest</legend>
          <label class="check">
            <input name="digest-enabled" type="checkbox" checked={settings.digest.enabled} /> A daily digest
          </label>
          <label for="digest-at">At ({zone})</label>
          <input id="digest-at" name="digest-at" type="time" value={settings.digest.at} />
        </fieldset>
        <fieldset>
          <legend>AI</legend>
          <label class="check">
            <input name="ai-enabled" type="checkbox" checked={settings.ai.enabled} /> Let a model write alert texts and
            briefings
          </label>
        </fieldset>
        <button type="submit">Save settings</button>
        {message && (
          <p role={message.error ? 'alert' : 'status'} class={message.error ? 'error' : 'ok'}>
            {message.text}
          </p>
        )}
      </form>
    </section>
  )
}

/** The latest briefings, and a button to ask for one. */
export function BriefingsPanel(props: { pam: PamClient }) {
  const [items, setItems] = useState<Briefing[] | undefined>()
  const [message, setMessage] = useState<string | undefined>()
  const read = () =>
    props.pam.GET('/v1/briefings', { params: { query: { limit: 5 } } }).then(({ data }) => setItems(data?.items ?? []))
  useEffect(() => {
    read()
  }, [props.pam])
  const ask = async () => {
    const { error, response } = await props.pam.POST('/v1/briefings', {})
    setMessage(response.ok ? 'Asked: it is written in a few seconds.' : problem(error, response.status))
    await read()
  }
  return (
    <section aria-labelledby="briefings" class="card">
      <h2 id="briefings">Briefings</h2>
      <button type="button" class="secondary" onClick={ask}>
        Ask for a briefing
      </button>
      {message && <p role="status">{message}</p>}
      {!items ? (
        <p>Reading…</p>
      ) : items.length === 0 ? (
        <p>No briefings yet.</p>
      ) : (
        <ul class="briefings">
          {items.map((briefing) => (
            <li key={briefing.id}>
              <strong>{briefing.period}</strong> ({briefing.kind}, {briefing.status}, {briefing.textSource}):{' '}
              {briefing.summary ?? 'being written…'}
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}

/** Today's AI usage against the traveller's daily cap. */
export function UsagePanel(props: { pam: PamClient }) {
  const [usage, setUsage] = useState<Usage | undefined>()
  useEffect(() => {
    props.pam.GET('/v1/me/ai-usage').then(({ data }) => setUsage(data))
  }, [props.pam])
  return (
    <section aria-labelledby="usage" class="card">
      <h2 id="usage">AI usage today</h2>
      {!usage ? (
        <p>Reading…</p>
      ) : (
        <p>
          {usage.today.calls} model calls, {usd(usage.today.costUsd)} of {usd(usage.caps.dailyUsd)} a day (UTC day{' '}
          {usage.day}); {usage.today.refused} refused by the budget. This month: {usd(usage.month.costUsd)}. Updated{' '}
          {when(new Date().toISOString())}.
        </p>
      )}
    </section>
  )
}
