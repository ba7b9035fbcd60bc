// The store: one node tree shared by the host (dom0) and guest domains, with the operations of
// docs/misc/xenstore.txt. Every operation names the calling domain, which decides permissions and
// quotas, and a transaction id (XBT_NULL for the live tree). A refused operation throws
// XenstoreError with the errno name xenstored would send; the request layer turns that into an
// XS_ERROR reply, the host sees it as an exception.

import { checkDomid, checkFunction, checkString, checkU32 } from './check.js'
import { XenstoreError, type XsErrnoName } from './errors.js'
import { pathElements, type ResolvedPath, resolvePath, resolveWatchPath } from './path.js'
import { canAccess, parsePerm, type XsPerm } from './perms.js'
import { resolveQuotas, type XenstoreQuotas } from './quota.js'
import { committedChanges, TransactionTable, type XsTransaction } from './transactions.js'
import {
  countNodes,
  forEachDescendant,
  lookup,
  makeNode,
  replaceAt,
  walk,
  type XsNode,
} from './tree.js'
import { type WatchSink, WatchTable, type XsChange } from './watches.js'
import { toBytes, XBT_NULL } from './wire.js'

/** A DIRECTORY result: the child names (sorted) and the node's generation count. */
export interface XsDirectory {
  /** Leaf names of the children, in byte order. */
  readonly children: string[]
  /** The node's generation count: changes whenever a child is added or removed. */
  readonly gencnt: number
}

/** Options of a new store. */
export interface XenstoreOptions {
  /** Per-guest caps; the defaults are QEMU's. */
  readonly quotas?: Partial<XenstoreQuotas>
}

/** Where an operation works: the live tree or a transaction's copy. */
interface Scope {
  readonly root: XsNode
  readonly nodeCount: number
  readonly tx: XsTransaction | undefined
}

function fail(code: XsErrnoName, operation: string, detail: string): never {
  throw new XenstoreError(code, operation, detail)
}

/** The root as QEMU's xs_impl_create() makes it: owned by dom0, no access for anyone else. */
const ROOT_PERMS: readonly XsPerm[] = Object.freeze([{ access: 'n', domid: 0 }])

/** A xenstore: the tree, its transactions and its watches. */
export class Xenstore {
  /** The caps applied to guest domains. */
  readonly quotas: XenstoreQuotas
  /** The live tree. @internal */
  root: XsNode = makeNode(ROOT_PERMS)
  /** Nodes in the live tree, the root included (quota `maxNodes` counts these). */
  nodeCount = 1
  /** Bumped by every change to the live tree; a transaction commits only if it is unchanged. */
  generation = 0
  /** The open transactions. @internal */
  readonly transactions = new TransactionTable()
  /** The registered watches. @internal */
  readonly watches = new WatchTable()

  constructor(options: XenstoreOptions = {}) {
    this.quotas = resolveQuotas(options.quotas)
  }

  /** The value of a node (a copy: the store's own bytes are shared between trees). */
  read(domid: number, txId: number, path: string): Uint8Array {
    return this.readable(domid, txId, path, 'read').value.slice()
  }

  /** Sets a node's value, creating it and any missing parents (they inherit the parent's perms). */
  write(domid: number, txId: number, path: string, value: Uint8Array | string): void {
    const bytes = typeof value === 'string' ? toBytes(value) : value
    if (!(bytes instanceof Uint8Array)) fail('EINVAL', 'write', 'value must be bytes or a string')
    const scope = this.scope(domid, txId, 'write')
    const p = this.resolve(path, domid, 'write')
    const els = pathElements(p.abs)
    const nodes = walk(scope.root, els)
    const have = nodes.length - 1
    let created = 0
    let perms: readonly XsPerm[]
    if (have < els.length) {
      const parent = nodes[have] as XsNode
      if (!canAccess(domid, parent.perms, 'write')) fail('EACCES', 'write', p.abs)
      created = els.length - have
      if (domid !== 0 && scope.nodeCount + created > this.quotas.maxNodes)
        fail('ENOSPC', 'write', `node quota (${this.quotas.maxNodes})`)
      perms = parent.perms
    } else {
      perms = (nodes[have] as XsNode).perms
      if (!canAccess(domid, perms, 'write')) fail('EACCES', 'write', p.abs)
    }
    if (domid !== 0 && bytes.length > this.quotas.maxValueSize)
      fail('E2BIG', 'write', `value of ${bytes.length} bytes`)
    // Keep our own copy: the caller's buffer may be a view of guest memory.
    const value_ = bytes.slice()
    let replacement: XsNode
    if (created === 0) {
      replacement = { ...(nodes[have] as XsNode), value: value_ }
    } else {
      // New nodes, innermost first: the target, then the missing parents above it.
      replacement = makeNode(perms, value_)
      for (let i = els.length - 1; i > have; i--)
        replacement = {
          ...makeNode(perms),
          children: new Map([[els[i] as string, replacement]]),
          gencnt: 1,
        }
    }
    const root = replaceAt(scope.root, els.slice(0, have + (created ? 1 : 0)), replacement)
    this.apply(scope, root, scope.nodeCount + created, [
      { path: p.abs, exact: false, perms: [perms] },
    ])
  }

  /** Creates a node with an empty value (and missing parents) unless it exists. */
  mkdir(domid: number, txId: number, path: string): void {
    const scope = this.scope(domid, txId, 'mkdir')
    const p = this.resolve(path, domid, 'mkdir')
    const n = lookup(scope.root, pathElements(p.abs))
    // QEMU's xs_mkdir() reads first: an existing node is left alone if the caller may read it.
    if (n !== undefined) {
      if (!canAccess(domid, n.perms, 'read')) fail('EACCES', 'mkdir', p.abs)
      return
    }
    this.write(domid, txId, path, new Uint8Array(0))
  }

  /**
   * Removes a node and its subtree. A missing node is not an error if its parent exists
   * (docs/misc/xenstore.txt, xenstored's do_rm()); the root cannot be removed.
   */
  rm(domid: number, txId: number, path: string): void {
    const scope = this.scope(domid, txId, 'rm')
    const p = this.resolve(path, domid, 'rm')
    if (p.abs === '/') fail('EINVAL', 'rm', 'the root cannot be removed')
    const els = pathElements(p.abs)
    const nodes = walk(scope.root, els)
    if (nodes.length <= els.length) {
      if (nodes.length === els.length) return
      fail('ENOENT', 'rm', p.abs)
    }
    const target = nodes[els.length] as XsNode
    if (!canAccess(domid, target.perms, 'write')) fail('EACCES', 'rm', p.abs)
    const changes: XsChange[] = []
    forEachDescendant(target, p.abs, (path, n) =>
      changes.push({ path, exact: true, perms: [n.perms] }),
    )
    changes.push({ path: p.abs, exact: false, perms: [target.perms] })
    const root = replaceAt(scope.root, els, undefined)
    this.apply(scope, root, scope.nodeCount - countNodes(target), changes)
  }

  /** The children of a node, sorted, and its generation count. */
  directory(domid: number, txId: number, path: string): XsDirectory {
    const n = this.readable(domid, txId, path, 'directory')
    return { children: [...n.children.keys()].sort(), gencnt: n.gencnt }
  }

  /** A node's permissions, owner first. */
  getPerms(domid: number, txId: number, path: string): XsPerm[] {
    return [...this.readable(domid, txId, path, 'get-perms').perms]
  }

  /**
   * Replaces a node's permissions. A guest must own the node, must stay its owner, and may set
   * at most `maxPermsPerNode` entries (QEMU's xs_node_set_perms()).
   */
  setPerms(domid: number, txId: number, path: string, perms: readonly XsPerm[]): void {
    if (!Array.isArray(perms) || perms.length === 0)
      fail('EINVAL', 'set-perms', 'at least one permission (the owner) is needed')
    for (const x of perms)
      if (typeof x !== 'object' || x === null || parsePerm(`${x.access}${x.domid}`) === undefined)
        fail('EINVAL', 'set-perms', `bad permission ${JSON.stringify(x)}`)
    const scope = this.scope(domid, txId, 'set-perms')
    const p = this.resolve(path, domid, 'set-perms')
    const els = pathElements(p.abs)
    const n = lookup(scope.root, els)
    if (n === undefined) fail('ENOENT', 'set-perms', p.abs)
    if (!canAccess(domid, n.perms, 'write')) fail('EACCES', 'set-perms', p.abs)
    if (domid !== 0) {
      if (!canAccess(domid, n.perms, 'owner')) fail('EPERM', 'set-perms', 'not the owner')
      if ((perms[0] as XsPerm).domid !== domid) fail('EPERM', 'set-perms', 'cannot give away')
      if (perms.length > this.quotas.maxPermsPerNode)
        fail('ENOSPC', 'set-perms', `${perms.length} entries`)
    }
    const copy = Object.freeze(
      perms.map((x) => Object.freeze({ access: x.access, domid: x.domid })),
    )
    const root = replaceAt(scope.root, els, { ...n, perms: copy })
    this.apply(scope, root, scope.nodeCount, [
      { path: p.abs, exact: false, perms: [n.perms, copy] },
    ])
  }

  /**
   * Adds a watch and fires it once straight away with the path as given (xenstore.txt: "When a
   * watch is first set up it is triggered once straight away").
   */
  watch(domid: number, path: string, token: string, sink: WatchSink): void {
    checkDomid(domid, 'watch')
    checkString(token, 'token', 'watch')
    checkFunction(sink, 'sink', 'watch')
    const p = this.resolveWatch(path, domid, 'watch')
    const limit = domid === 0 ? Number.POSITIVE_INFINITY : this.quotas.maxWatches
    const w = this.watches.add(domid, p, token, sink, limit)
    if (typeof w === 'string') fail(w, 'watch', path)
    sink(path, token)
  }

  /** Removes the caller's watch on `path` with `token`. */
  unwatch(domid: number, path: string, token: string): void {
    checkDomid(domid, 'unwatch')
    checkString(token, 'token', 'unwatch')
    const p = this.resolveWatch(path, domid, 'unwatch')
    const err = this.watches.remove(domid, p.abs, token)
    if (err !== undefined) fail(err, 'unwatch', path)
  }

  /** Drops every watch and transaction of a domain (xenstored's RESET_WATCHES). */
  resetWatches(domid: number): void {
    checkDomid(domid, 'reset-watches')
    this.watches.removeAll(domid)
    this.transactions.removeAll(domid)
  }

  /** Starts a transaction on a private copy of the tree; returns its id. */
  transactionStart(domid: number): number {
    checkDomid(domid, 'transaction-start')
    const limit = domid === 0 ? Number.POSITIVE_INFINITY : this.quotas.maxTransactions
    const tx = this.transactions.start(domid, this.root, this.nodeCount, this.generation, limit)
    if (typeof tx === 'string') fail(tx, 'transaction-start', `${limit} open`)
    return tx.id
  }

  /**
   * Ends a transaction: with `commit`, its tree becomes the live tree unless the live tree changed
   * since it started (EAGAIN, and nothing is applied). The id is invalid afterwards either way.
   */
  transactionEnd(domid: number, txId: number, commit: boolean): void {
    checkDomid(domid, 'transaction-end')
    checkU32(txId, 'txId', 'transaction-end')
    if (typeof commit !== 'boolean') fail('EINVAL', 'transaction-end', 'commit must be a boolean')
    const tx = this.transactions.get(domid, txId)
    if (tx === undefined) fail('ENOENT', 'transaction-end', `no transaction ${txId}`)
    this.transactions.delete(txId)
    if (!commit) return
    if (tx.baseGeneration !== this.generation) fail('EAGAIN', 'transaction-end', 'store changed')
    const base = tx.base
    this.root = tx.root
    this.nodeCount = tx.nodeCount
    this.generation++
    for (const c of committedChanges(base, tx.root)) this.watches.fire(c)
  }

  private scope(domid: number, txId: number, operation: string): Scope {
    checkDomid(domid, operation)
    checkU32(txId, 'txId', operation)
    if (txId === XBT_NULL) return { root: this.root, nodeCount: this.nodeCount, tx: undefined }
    const tx = this.transactions.get(domid, txId)
    if (tx === undefined) fail('ENOENT', operation, `no transaction ${txId}`)
    return { root: tx.root, nodeCount: tx.nodeCount, tx }
  }

  private readable(domid: number, txId: number, path: string, operation: string): XsNode {
    const scope = this.scope(domid, txId, operation)
    const p = this.resolve(path, domid, operation)
    const n = lookup(scope.root, pathElements(p.abs))
    if (n === undefined) fail('ENOENT', operation, p.abs)
    if (!canAccess(domid, n.perms, 'read')) fail('EACCES', operation, p.abs)
    return n
  }

  private resolve(path: string, domid: number, operation: string): ResolvedPath {
    if (typeof path !== 'string') fail('EINVAL', operation, 'path must be a string')
    const p = resolvePath(path, domid)
    if (typeof p === 'string') fail(p, operation, `bad path ${JSON.stringify(path.slice(0, 80))}`)
    return p
  }

  private resolveWatch(path: string, domid: number, operation: string): ResolvedPath {
    if (typeof path !== 'string') fail('EINVAL', operation, 'path must be a string')
    const p = resolveWatchPath(path, domid)
    if (typeof p === 'string') fail(p, operation, `bad path ${JSON.stringify(path.slice(0, 80))}`)
    return p
  }

  private apply(scope: Scope, root: XsNode, nodeCount: number, changes: XsChange[]): void {
    if (scope.tx !== undefined) {
      scope.tx.root = root
      scope.tx.nodeCount = nodeCount
      return
    }
    this.root = root
    this.nodeCount = nodeCount
    this.generation++
    for (const c of changes) this.watches.fire(c)
  }
}
