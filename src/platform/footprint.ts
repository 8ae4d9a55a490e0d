import { rm, rmdir } from 'node:fs/promises'

/**
 * What a process created under PAM_HOME (secrets, the database's files, their folders), so that
 * a first start that fails removes it again, and only it: a clone that could not start looks as
 * it did before, with no secrets left in it.
 */
export interface Footprint {
  /** A file this process wrote. */
  file(path: string): void
  /** A folder this process made (`mkdir` with `recursive` returns the first one it made, or undefined). */
  folder(path: string | undefined): void
  /** A folder this process filled, removed whole unless `inUse` says another process needs it. */
  tree(path: string, inUse: () => Promise<boolean>): void
  /** Removes what was recorded, newest first; a folder only once it is empty. */
  undo(): Promise<void>
}

type Entry =
  | { kind: 'file'; path: string }
  | { kind: 'folder'; path: string }
  | { kind: 'tree'; path: string; inUse: () => Promise<boolean> }

export function createFootprint(): Footprint {
  const entries: Entry[] = []
  return {
    file: (path) => entries.push({ kind: 'file', path }),
    folder: (path) => {
      if (path) entries.push({ kind: 'folder', path })
    },
    tree: (path, inUse) => entries.push({ kind: 'tree', path, inUse }),
    async undo() {
      for (const entry of entries.splice(0).reverse()) {
        if (entry.kind === 'file') await rm(entry.path, { force: true })
        // Not empty: something another process made since is in it, so it stays.
        else if (entry.kind === 'folder') await rmdir(entry.path).catch(() => undefined)
        else if (!(await entry.inUse())) await rm(entry.path, { recursive: true, force: true })
      }
    },
  }
}

/** For callers that keep what they create (a command that is not a start). */
export const keepEverything: Footprint = {
  file: () => undefined,
  folder: () => undefined,
  tree: () => undefined,
  undo: async () => undefined,
}
