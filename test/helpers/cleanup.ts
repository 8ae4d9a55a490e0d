import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * What a test file must undo however it ends: normally, on a failed assertion, or killed by
 * the runner's timeout (SIGTERM). Each task is synchronous, so it can run in an 'exit' handler.
 */
const tasks = new Set<() => void>()
let installed = false

// Last in, first out: a process is stopped before the folder it was given is removed.
function runAll() {
  for (const task of [...tasks].reverse()) {
    tasks.delete(task)
    try {
      task()
    } catch {
      // One task failing must not keep the others from running.
    }
  }
}

function install() {
  if (installed) return
  installed = true
  process.once('exit', runAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      runAll()
      // Ends as the signal would have: the runner sees the file was killed.
      process.kill(process.pid, signal)
    })
  }
}

/** Registers `task` to run when this process ends; returns a function that unregisters it. */
export function atExit(task: () => void): () => void {
  install()
  tasks.add(task)
  return () => tasks.delete(task)
}

/**
 * `npm test` gives every run an id; the databases, Redis prefixes, folders and processes a
 * test makes carry it, so the runner can find anything a killed test file left behind.
 */
export const TEST_RUN = process.env.PAM_TEST_RUN ?? ''

export const TEST_FOLDER_PREFIX = 'pam-test-'

/** A fresh folder in the system temp directory, removed when this process ends. */
export function tempFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), `${TEST_FOLDER_PREFIX}${TEST_RUN ? `${TEST_RUN}-` : ''}`))
  atExit(() => rmSync(folder, { recursive: true, force: true }))
  return folder
}
