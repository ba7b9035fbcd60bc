// Watches: who is told about which changes. The matching rules are QEMU's fire_watches() and
// node_rm_recurse() (hw/i386/kvm/xenstore_impl.c): a change to a node fires the watches on the
// node and on each of its ancestors, with the changed node's path; a removal also fires, for each
// node of the removed subtree, the watches set exactly on that node. As in xenstored (and unlike
// QEMU), a domain is only told about a node it can read, and a watch on `/` sees everything.

import type { XsErrnoName } from './errors.js'
import { isAncestorOrSelf, type ResolvedPath } from './path.js'
import { canAccess, type XsPerm } from './perms.js'

/** A change that may fire watches. */
export interface XsChange {
  /** The absolute path of the changed node. */
  readonly path: string
  /** Only watches set exactly on `path` fire (a node inside a removed subtree). */
  readonly exact: boolean
  /** The node's permissions before and/or after: a watcher must be able to read under one. */
  readonly perms: readonly (readonly XsPerm[])[]
}

/** Receives a fired watch: the path (in the watcher's own relative or absolute terms), token. */
export type WatchSink = (path: string, token: string) => void

/** One registered watch. */
export interface XsWatch {
  /** The domain that set it (0 for the host). */
  readonly domid: number
  /** The watched path, absolute (or a special `@` path). */
  readonly abs: string
  /** Characters to strip from an event path to give it back relative, 0 if set absolute. */
  readonly relPrefix: number
  /** The watcher's token, returned with every event. */
  readonly token: string
  /** Where events go. */
  readonly sink: WatchSink
}

/** Every watch of the store, in registration order. */
export class WatchTable {
  private readonly list: XsWatch[] = []

  /** The number of watches `domid` holds. */
  countFor(domid: number): number {
    let n = 0
    for (const w of this.list) if (w.domid === domid) n++
    return n
  }

  /** All watches, in registration order (for snapshots). */
  all(): readonly XsWatch[] {
    return this.list
  }

  /**
   * Adds a watch; EEXIST if the domain already watches that path with that token, E2BIG past
   * `limit` watches for the domain. Does not fire it: the caller does, once added.
   */
  add(
    domid: number,
    path: ResolvedPath,
    token: string,
    sink: WatchSink,
    limit: number,
  ): XsWatch | XsErrnoName {
    if (this.list.some((w) => w.domid === domid && w.abs === path.abs && w.token === token))
      return 'EEXIST'
    if (this.countFor(domid) >= limit) return 'E2BIG'
    const w = { domid, abs: path.abs, relPrefix: path.relPrefix, token, sink }
    this.list.push(w)
    return w
  }

  /** Removes a domain's watch on the path with that token; ENOENT if there is none. */
  remove(domid: number, abs: string, token: string): XsErrnoName | undefined {
    const i = this.list.findIndex((w) => w.domid === domid && w.abs === abs && w.token === token)
    if (i < 0) return 'ENOENT'
    this.list.splice(i, 1)
    return undefined
  }

  /** Removes every watch of a domain (RESET_WATCHES, a ring reconnection). */
  removeAll(domid: number): void {
    for (let i = this.list.length - 1; i >= 0; i--)
      if ((this.list[i] as XsWatch).domid === domid) this.list.splice(i, 1)
  }

  /** Fires every watch a change matches, in registration order. */
  fire(change: XsChange): void {
    if (change.path.startsWith('@')) return
    // A sink may add or remove watches (a host callback reacting); iterate a stable copy.
    for (const w of [...this.list]) {
      if (w.abs.startsWith('@')) continue
      const hit = change.exact ? w.abs === change.path : isAncestorOrSelf(w.abs, change.path)
      if (!hit) continue
      if (w.domid !== 0 && !change.perms.some((p) => canAccess(w.domid, p, 'read'))) continue
      w.sink(change.path.slice(w.relPrefix), w.token)
    }
  }
}
