import { render } from 'preact'
import { OperatorView } from './operator.js'
import { TravellerView } from './traveller.js'
import './style.css'

/** /console is the traveller's view, /console/operator the operator's: one page, chosen by path. */
const operator = location.pathname.replace(/\/+$/, '') === '/console/operator'
document.title = operator ? 'PAM console: operator' : 'PAM console'
const root = document.getElementById('app') as HTMLElement
// The page's "Loading…" line is replaced, not kept beside the view (render diffs against what is there).
root.replaceChildren()
render(operator ? <OperatorView /> : <TravellerView />, root)
