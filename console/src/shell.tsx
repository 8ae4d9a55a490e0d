import type { ComponentChildren } from 'preact'

/** The page frame: a heading, the link to the other view, the session's control, the content. */
export function Shell(props: { view: 'traveller' | 'operator'; onSignOut?: () => void; children: ComponentChildren }) {
  return (
    <>
      <header class="bar">
        <h1>PAM {props.view === 'operator' ? 'operator' : 'console'}</h1>
        <nav aria-label="Views">
          {props.view === 'operator' ? <a href="/console">Traveller</a> : <a href="/console/operator">Operator</a>}
        </nav>
        {props.onSignOut && (
          <button type="button" onClick={props.onSignOut}>
            Sign out
          </button>
        )}
      </header>
      <main>{props.children}</main>
    </>
  )
}

/** A table that scrolls sideways on a phone, reachable by keyboard. */
export function Scroll(props: { label: string; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus to scroll by keyboard (WCAG 2.1.1)
    <section class="scroll" aria-label={props.label} tabIndex={0}>
      {props.children}
    </section>
  )
}

/** The sign-in form both views share: a "Token" password field and a "Sign in" button. */
export function SignInForm(props: {
  intro: string
  error: string | undefined
  onSignIn: (token: string) => void
  children?: ComponentChildren
}) {
  return (
    <section aria-labelledby="sign-in" class="card narrow">
      <h2 id="sign-in">Sign in</h2>
      <p>{props.intro}</p>
      <form
        onSubmit={(event) => {
          event.preventDefault()
          const field = (event.currentTarget as HTMLFormElement).elements.namedItem('token') as HTMLInputElement
          props.onSignIn(field.value.trim())
        }}
      >
        <label for="token">Token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required />
        {props.error && (
          <p role="alert" class="error">
            {props.error}
          </p>
        )}
        <button type="submit">Sign in</button>
      </form>
      {props.children}
    </section>
  )
}
