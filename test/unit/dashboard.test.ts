import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { parse as parseYaml } from 'yaml'

const root = new URL('../../', import.meta.url)
const read = (file: string) => readFileSync(new URL(file, root), 'utf8')

/** Every series name PAM's processes export, and each metric's label names: from the registries in src/platform/metrics.ts, built. */
async function exported(): Promise<Map<string, string[]>> {
  const series = new Map<string, string[]>()
  for (const file of ['src/platform/metrics.ts']) {
    const module: Record<string, unknown> = await import(new URL(file, root).href)
    for (const [name, value] of Object.entries(module)) {
      if (!name.startsWith('create') || typeof value !== 'function' || value.length > 0) continue
      const built = (value as () => { registry?: unknown })()
      if (!(built?.registry instanceof Registry)) continue
      // getMetricsAsArray's type is the plain MetricObject; the objects are prom-client's metrics.
      const metrics = built.registry.getMetricsAsArray() as unknown as {
        labelNames?: string[]
        get(): Promise<{ name: string; type: string }>
      }[]
      for (const metric of metrics) {
        const labels = [...(metric.labelNames ?? [])]
        const { name: base, type } = await metric.get()
        const names =
          type === 'histogram' ? ['_bucket', '_sum', '_count'] : type === 'summary' ? ['', '_sum', '_count'] : ['']
        for (const suffix of names) series.set(`${base}${suffix}`, suffix === '_bucket' ? [...labels, 'le'] : labels)
      }
    }
  }
  return series
}

interface Query {
  where: string
  expr: string
}

function dashboardQueries(): Query[] {
  const dashboard = JSON.parse(read('deploy/grafana/pam.json'))
  const panels = dashboard.panels.flatMap((panel: { panels?: unknown[] }) => [panel, ...(panel.panels ?? [])])
  return panels
    .filter((panel: { type: string }) => panel.type !== 'row')
    .flatMap((panel: { title: string; targets?: { expr: string }[] }) => {
      assert.ok(panel.targets?.length, `panel "${panel.title}" has a query`)
      return panel.targets.map((target) => ({ where: `panel "${panel.title}"`, expr: target.expr }))
    })
}

function ruleQueries(): Query[] {
  const rules = parseYaml(read('deploy/prometheus/alerts.yml'))
  return rules.groups.flatMap((group: { rules: { alert: string; expr: string }[] }) =>
    group.rules.map((rule) => ({ where: `rule ${rule.alert}`, expr: rule.expr })),
  )
}

/** Each `pam_…` series a query names, with the labels its selector matches on. */
function selectors(expr: string): { name: string; labels: string[] }[] {
  return [...expr.matchAll(/\b(pam_[a-z0-9_]+)(\{[^}]*\})?/g)].map((match) => ({
    name: match[1] ?? '',
    labels: [...(match[2] ?? '').matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((label) => label[1] ?? ''),
  }))
}

describe('the Grafana dashboard and the Prometheus rules', () => {
  it('query only metrics, and labels, that PAM exports', async () => {
    const series = await exported()
    assert.ok(series.has('pam_http_request_duration_seconds_bucket'), 'the registry was built')
    const queries = [...dashboardQueries(), ...ruleQueries()]
    assert.ok(queries.length >= 20, `${queries.length} queries`)
    const missing = new Set<string>()
    for (const { where, expr } of queries) {
      const named = selectors(expr)
      assert.ok(named.length > 0, `${where} names no PAM metric: ${expr}`)
      for (const { name, labels } of named) {
        const known = series.get(name)
        if (!known) {
          missing.add(`${name} (${where})`)
          continue
        }
        for (const label of labels) assert.ok(known.includes(label), `${where}: ${name} has no label ${label}`)
      }
    }
    assert.deepEqual([...missing], [], 'queried metrics PAM does not export')
  })

  it('cover what an operator watches', () => {
    const all = dashboardQueries()
      .map((query) => query.expr)
      .join('\n')
    for (const watched of [
      'pam_http_request_duration_seconds_count', // request rate, 5xx
      'pam_http_request_duration_seconds_bucket', // latency quantiles
      'pam_queue_jobs',
      'pam_jobs_total',
      'pam_job_duration_seconds_bucket',
      'pam_write_to_alert_seconds_bucket',
      'pam_workers_alive',
      'pam_db_pool_connections',
      'pam_redis_memory_used_bytes',
    ]) {
      assert.ok(all.includes(watched), `the dashboard shows ${watched}`)
    }
    const alerts = ruleQueries().map((rule) => rule.where)
    for (const alert of [
      'PamJobFailedForGood',
      'PamSweepDegraded',
      'PamSweepFailed',
      'PamQueueWithoutWorker',
      'PamScheduleMissed',
      'PamProviderFailing',
      'PamAiBudgetNearlySpent',
      'PamHighServerErrorRate',
    ]) {
      assert.ok(alerts.includes(`rule ${alert}`), `alerts.yml has ${alert}`)
    }
  })

  it('watch every schedule for a missed run against its own exported cadence, naming none by hand', () => {
    const rules = parseYaml(read('deploy/prometheus/alerts.yml'))
    const missed = rules.groups
      .flatMap((group: { rules: { alert: string; expr: string }[] }) => group.rules)
      .find((rule: { alert: string }) => rule.alert === 'PamScheduleMissed')
    const expr = String(missed?.expr)
    // A schedule named in the rule is one a new schedule or monitor would have to be added beside.
    assert.doesNotMatch(expr, /schedule="/)
    assert.match(expr, /pam_schedule_cadence_seconds/)
    assert.match(expr, /pam_schedule_last_run_timestamp_seconds/)
  })
})
