import { setTimeout as sleep } from 'node:timers/promises'

/** Polls `url` until it answers 200, for up to a minute; then fails with what `output` says (a process's log). */
export async function waitFor(url: string, headers: Record<string, string> = {}, output = () => ''): Promise<void> {
  for (let i = 0; ; i++) {
    const ok = await fetch(url, { headers }).then(
      (r) => r.ok,
      () => false,
    )
    if (ok) return
    if (i > 600) throw new Error(`${url} never answered 200\n${output()}`)
    await sleep(100)
  }
}
