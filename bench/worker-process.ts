import { freePort, type PamProcess, spawnPam } from '../test/helpers/process.js'
import { waitFor } from './wait-for.js'

/**
 * `pam worker` at `concurrency` on the deployment `env` describes, in a process of its own, once
 * its own /health (on a free METRICS_PORT) answers. Stop it before the deployment's stores go.
 */
export async function startWorkerProcess(env: Record<string, string>, concurrency: number): Promise<PamProcess> {
  const port = await freePort()
  const worker = spawnPam(['worker', '--concurrency', String(concurrency)], { ...env, METRICS_PORT: String(port) })
  await waitFor(`http://127.0.0.1:${port}/health`, {}, worker.output)
  return worker
}
