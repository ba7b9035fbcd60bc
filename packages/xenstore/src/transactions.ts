// Transactions: each is a private copy of the whole tree (a root of the persistent tree), so its
// reads and writes are isolated from everything else. The commit rule is QEMU's
// transaction_commit() (hw/i386/kvm/xenstore_impl.c) and docs/misc/xenstore.txt: if the store
// changed at all since the transaction started, TRANSACTION_END T fails with EAGAIN and the
// caller retries. Watches for a transaction's changes fire only when it commits, worked out by
// comparing trees (committedChanges), so a transaction holds nothing but its tree.

import type { XsErrnoName } from './errors.js'
import { childPath } from './path.js'
import { EMPTY_VALUE, forEachDescendant, type XsNode } from './tree.js'
import type { XsChange } from './watches.js'

/** One open transaction. */
export interface XsTransaction {
  /** Its id (never `XBT_NULL`), as the caller puts it in `tx_id`. */
  readonly id: number
  /** The domain that started it; only that domain may use it. */
  readonly domid: number
  /** The store's generation when it started; a commit needs it unchanged. */
  readonly baseGeneration: number
  /** The transaction's own tree. */
  root: XsNode
  /** Nodes in its tree. */
  nodeCount: number
  /** The live tree it started from: the commit diffs against it to know what changed. */
  readonly base: XsNode
}

/**
 * What a commit changes, for the watches: the difference between the tree a transaction
 * started from and its own tree, judged as QEMU's tx_commit_walk() judges its modified_in_tx and
 * deleted_in_tx flags. A node fires (with its ancestors' watches) if it was written or had its
 * perms set, or lost its value by being removed and made again; of a removed subtree the
 * topmost node fires with its ancestors' watches and the rest only their own. Nodes that merely
 * hold changed descendants, and parents made on the way to a written node, do not fire. Shared
 * subtrees are the same objects, so only the changed paths are walked.
 */
export function committedChanges(base: XsNode, root: XsNode): XsChange[] {
  const out: XsChange[] = []
  diff(base, root, '/', out)
  return out
}

function diff(old: XsNode, now: XsNode, path: string, out: XsChange[]): void {
  for (const [name, child] of now.children) {
    const was = old.children.get(name)
    if (was === child) continue
    const p = childPath(path, name)
    if (was === undefined) created(child, now, p, out)
    else {
      if (child.value !== was.value || child.perms !== was.perms)
        out.push({ path: p, exact: false, perms: [was.perms, child.perms] })
      diff(was, child, p, out)
    }
  }
  for (const [name, was] of old.children) {
    if (now.children.has(name)) continue
    const p = childPath(path, name)
    forEachDescendant(was, p, (q, n) => out.push({ path: q, exact: true, perms: [n.perms] }))
    out.push({ path: p, exact: false, perms: [was.perms] })
  }
}

function created(node: XsNode, parent: XsNode, path: string, out: XsChange[]): void {
  // Scaffolding made by a write further down keeps the shared empty value and the parent's perms.
  if (node.value !== EMPTY_VALUE || node.perms !== parent.perms)
    out.push({ path, exact: false, perms: [node.perms] })
  for (const [name, child] of node.children) created(child, node, childPath(path, name), out)
}

/** The open transactions of the store. */
export class TransactionTable {
  private readonly byId = new Map<number, XsTransaction>()
  /** The last id handed out; ids count up from 1 and wrap, skipping 0 and ids in use. */
  lastId = 0

  /** The number of transactions `domid` has open. */
  countFor(domid: number): number {
    let n = 0
    for (const t of this.byId.values()) if (t.domid === domid) n++
    return n
  }

  /** All open transactions (for snapshots). */
  all(): IterableIterator<XsTransaction> {
    return this.byId.values()
  }

  /** Opens a transaction on `root`; ENOSPC past `limit` open ones for the domain. */
  start(
    domid: number,
    root: XsNode,
    nodeCount: number,
    generation: number,
    limit: number,
  ): XsTransaction | XsErrnoName {
    if (this.countFor(domid) >= limit) return 'ENOSPC'
    let id = this.lastId
    do id = (id + 1) >>> 0
    while (id === 0 || this.byId.has(id))
    this.lastId = id
    const tx = { id, domid, baseGeneration: generation, root, nodeCount, base: root }
    this.byId.set(id, tx)
    return tx
  }

  /** Puts back a transaction read from a snapshot. */
  restore(tx: XsTransaction): void {
    this.byId.set(tx.id, tx)
  }

  /** The domain's transaction `id`, or `undefined` (another domain's counts as absent). */
  get(domid: number, id: number): XsTransaction | undefined {
    const t = this.byId.get(id)
    return t !== undefined && t.domid === domid ? t : undefined
  }

  /** Forgets a transaction (ended, committed or not). */
  delete(id: number): void {
    this.byId.delete(id)
  }

  /** Drops every transaction of a domain (RESET_WATCHES, a ring reconnection). */
  removeAll(domid: number): void {
    for (const [id, t] of this.byId) if (t.domid === domid) this.byId.delete(id)
  }
}
