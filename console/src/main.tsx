import { render } from 'preact'
import { OperatorView } from './operator.js'
import { TravellerView } from './traveller.js'
import './style.css'

/** /console is the traveller's view, /console/operator the operator's: one page, chosen by path. */
const operator = location.pathname.replace(/\/+$/, '') === '/console/operator'
document.title = operator ? 'PAM console: operator' : 'PAM console'
render(operator ? <OperatorView /> : <TravellerView />, document.getElementById('app') as HTMLElement)
