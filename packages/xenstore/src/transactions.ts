// Transactions: each is a private copy of the whole tree (a root of the persistent tree), so its
// reads and writes are isolated from everything else. The commit rule is QEMU's
// transaction_commit() (hw/i386/kvm/xenstore_impl.c) and docs/misc/xenstore.txt: if the store
// changed at all since the transaction started, TRANSACTION_END T fails with EAGAIN and the
// caller retries. Watches for a transaction's changes fire only when it commits.

import type { XsErrnoName } from './errors.js'
import type { XsNode } from './tree.js'
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
  /** Changes made in it, to fire on commit, one per node (see `recordChanges`). */
  readonly changes: Map<string, XsChange>
  /** Too many distinct changes to keep: on commit every watch fires instead (spuriously). */
  overflowed: boolean
}

/**
 * The most distinct changes a transaction keeps. Past it the transaction only remembers that
 * it overflowed, so a guest that writes and removes endless distinct paths in one transaction
 * cannot grow host memory; xenstore.txt allows watches to fire spuriously.
 */
export const MAX_TX_CHANGES = 4096

/**
 * Notes changes made inside a transaction. A node changed several times fires once at commit,
 * as with QEMU's tx_commit_walk(); its visibility is judged on its first and latest perms.
 */
export function recordChanges(tx: XsTransaction, changes: readonly XsChange[]): void {
  if (tx.overflowed) return
  for (const c of changes) {
    const key = `${c.exact ? 'x' : 'p'}${c.path}`
    const prev = tx.changes.get(key)
    tx.changes.set(key, prev ? { ...c, perms: [prev.perms[0] ?? [], ...c.perms] } : c)
  }
  if (tx.changes.size > MAX_TX_CHANGES) {
    tx.changes.clear()
    tx.overflowed = true
  }
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
    const tx = {
      id,
      domid,
      baseGeneration: generation,
      root,
      nodeCount,
      changes: new Map(),
      overflowed: false,
    }
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
