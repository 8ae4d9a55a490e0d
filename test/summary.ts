/**
 * The closing lines of `npm test`, after the spec reporter's output: one count line
 * (`N passed, N failed, N cancelled, N skipped`) and every failed, cancelled and skipped test
 * by file and name, with the reason of each skip. Node's own summary counts neither a skipped
 * suite (the Redis-mode suites where no Redis answers) nor the tests a timed-out file never ran.
 */
import { relative } from 'node:path'

/** The data of a test:start, test:pass or test:fail event. */
interface TestEvent {
  name: string
  nesting: number
  file?: string
  skip?: string | boolean
  details?: { type?: string; duration_ms?: number; error?: { failureType?: string; message?: string; cause?: unknown } }
}

interface Outcome {
  where: string
  reason: string
}

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`

function reasonOf(error: { failureType?: string; message?: string; cause?: unknown } | undefined): string {
  const cause = error?.cause as { message?: string } | string | undefined
  const text = typeof cause === 'string' ? cause : (cause?.message ?? error?.message ?? '')
  return text.split('\n')[0]?.slice(0, 200) ?? ''
}

/** Collects a test run's outcomes from its event stream (`run()` of node:test). */
export function collectSummary(stream: NodeJS.EventEmitter) {
  const paths = new Map<string, string[]>()
  const topLevel: Array<{ name: string; seconds: number }> = []
  let passed = 0
  const failed: Outcome[] = []
  const cancelled: Outcome[] = []
  const skipped: Outcome[] = []
  let skippedSuites = 0

  // An event's file is where its test was declared: for suites declared through a helper
  // (inBothModes) that is the helper, so a test is named by its suites rather than its file.
  const fileOf = (data: TestEvent) => (data.file ? relative(process.cwd(), data.file) : '')
  stream.on('test:start', (data: TestEvent) => {
    const file = fileOf(data)
    const path = paths.get(file) ?? []
    path.length = data.nesting
    path.push(data.name)
    paths.set(file, path)
  })
  const onEnd = (passedTest: boolean) => (data: TestEvent) => {
    const file = fileOf(data)
    const trail = (paths.get(file) ?? []).slice(0, data.nesting)
    const isFile = data.nesting === 0 && data.file !== undefined && data.file.endsWith(data.name)
    // A test whose suite was declared in a helper has no trail here: its own file names it.
    const named = trail.length === data.nesting ? [...trail, data.name] : [file, data.name].filter(Boolean)
    const where = isFile ? `${file} (the whole file)` : named.join(' › ')
    const suite = data.details?.type === 'suite'
    if (data.nesting === 0 && data.details?.duration_ms !== undefined)
      topLevel.push({ name: isFile ? file : data.name, seconds: data.details.duration_ms / 1000 })
    if (passedTest) {
      if (data.skip !== undefined && data.skip !== false) {
        skipped.push({ where: suite ? `${where} (whole suite)` : where, reason: data.skip === true ? '' : data.skip })
        if (suite) skippedSuites++
      } else if (!suite) passed++
      return
    }
    const failureType = data.details?.error?.failureType
    // A suite fails when a test in it fails: that test is already counted.
    if (suite && failureType === 'subtestsFailed') return
    if (failureType === 'cancelledByParent') cancelled.push({ where, reason: '' })
    else failed.push({ where, reason: reasonOf(data.details?.error) })
  }
  stream.on('test:pass', onEnd(true))
  stream.on('test:fail', onEnd(false))

  return {
    /** True when no test failed or was cancelled. */
    ok: () => failed.length === 0 && cancelled.length === 0,
    text(): string {
      const lines = [
        '',
        `${passed} passed, ${failed.length} failed, ${cancelled.length} cancelled, ${skipped.length} skipped` +
          (skippedSuites > 0 ? ` (${plural(skippedSuites, 'whole suite')} among them)` : ''),
      ]
      const list = (title: string, outcomes: Outcome[]) => {
        if (outcomes.length === 0) return
        lines.push(`${title}:`)
        for (const { where, reason } of outcomes) lines.push(`  ${where}${reason ? ` — ${reason}` : ''}`)
      }
      list('failed', failed)
      list('cancelled', cancelled)
      list('skipped', skipped)
      const slowest = topLevel.sort((a, b) => b.seconds - a.seconds).slice(0, 5)
      if (slowest.length > 0)
        lines.push(`slowest: ${slowest.map(({ name, seconds }) => `${name} ${seconds.toFixed(0)} s`).join(', ')}`)
      return `${lines.join('\n')}\n`
    },
  }
}
