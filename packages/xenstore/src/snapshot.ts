// Snapshot and restore of a whole store and of a server's connection, as plain JSON-able
// objects (values and in-flight bytes in base64). Everything a guest can make the store hold is
// here: nodes, open transactions (their trees, sharing the live tree where untouched, like QEMU's
// NODE_REF) and the guest's watches.
// Host (dom0) watches are callbacks, so they are not saved: the host sets them up again, as QEMU
// saves only guest watches (xs_impl_serialize()). A snapshot is untrusted on restore: every field
// is checked and a bad one throws XenstoreError EINVAL.

import { XenstoreError } from './errors.js'
import { childPath, pathElements, resolvePath, resolveWatchPath } from './path.js'
import { formatPerm, parsePerm, type XsPerm } from './perms.js'
import type { XenstoreConnectionState } from './server.js'
import { Xenstore, type XenstoreOptions } from './store.js'
import type { XsTransaction } from './transactions.js'
import { countNodes, EMPTY_VALUE, lookup, replaceAt, type XsNode } from './tree.js'
import type { WatchSink } from './watches.js'
import { XENSTORE_PAYLOAD_MAX, XS_HEADER_SIZE } from './wire.js'

/**
 * One node of a saved tree. Records come parents first. In a transaction's tree, a subtree the
 * transaction has not touched is saved as `{ path, same: true }`: it is the live tree's.
 */
export type XsNodeRecord =
  | {
      /** Absolute path; the first record is the root, `/`. */
      readonly path: string
      /** The value, base64. */
      readonly value: string
      /** Permissions in wire form, owner first, e.g. `['n0', 'r1']`. */
      readonly perms: readonly string[]
      /** The node's generation count. */
      readonly gencnt: number
      /** Made as a parent on the way to a write, never written itself (absent: false). */
      readonly implicit?: true
    }
  | {
      /** Absolute path of a subtree shared with the live tree. */
      readonly path: string
      /** Always true: this subtree is the live tree's. */
      readonly same: true
    }

/** A saved store. */
export interface XenstoreSnapshot {
  /** Format version: 1. */
  readonly version: 1
  /** The live tree's change counter. */
  readonly generation: number
  /** The last transaction id handed out. */
  readonly lastTxId: number
  /** The live tree. */
  readonly nodes: readonly XsNodeRecord[]
  /** Open transactions. */
  readonly transactions: readonly XsSavedTransaction[]
  /** Guest watches. */
  readonly watches: readonly XsSavedWatch[]
}

/** A saved open transaction. */
export interface XsSavedTransaction {
  /** Its id. */
  readonly id: number
  /** The domain that opened it. */
  readonly domid: number
  /** The store generation it started at (it can commit only if that is still current). */
  readonly baseGeneration: number
  /** Its tree; untouched subtrees of a committable transaction are `same` records. */
  readonly nodes: readonly XsNodeRecord[]
}

/** A saved guest watch. */
export interface XsSavedWatch {
  /** The domain that set it. */
  readonly domid: number
  /** The path as the guest gave it (relative or absolute). */
  readonly path: string
  /** The guest's token. */
  readonly token: string
}

/** A saved partly written reply or event. */
export interface XsSavedResponse {
  /** The whole message, base64. */
  readonly bytes: string
  /** How many of its bytes are in the ring already. */
  readonly written: number
}

/** A saved connection: in-flight bytes in base64. */
export interface XsSavedConnection {
  /** The request read so far. */
  readonly request: string
  /** The message being written to the response ring, or null. */
  readonly response: XsSavedResponse | null
  /** Queued watch events, encoded messages. */
  readonly events: readonly string[]
  /** The ring was given up on until the guest reconnects. */
  readonly failed: boolean
  /** Watch events dropped so far. */
  readonly droppedEvents: number
}

/** A saved server: its store and its connection (the ring page is saved with guest RAM). */
export interface XenstoreServerSnapshot {
  /** Format version: 1. */
  readonly version: 1
  /** The guest's domain id. */
  readonly domid: number
  /** The store. */
  readonly store: XenstoreSnapshot
  /** In-flight bytes and queued events. */
  readonly connection: XsSavedConnection
}

const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64')

function bad(detail: string): never {
  throw new XenstoreError('EINVAL', 'restore', detail)
}

function saveTree(root: XsNode, shared?: XsNode): XsNodeRecord[] {
  const out: XsNodeRecord[] = []
  const visit = (path: string, n: XsNode, live: XsNode | undefined) => {
    if (live === n && path !== '/') {
      out.push({ path, same: true })
      return
    }
    const rec = { path, value: b64(n.value), perms: n.perms.map(formatPerm), gencnt: n.gencnt }
    out.push(n.value === EMPTY_VALUE ? { ...rec, implicit: true } : rec)
    for (const [name, c] of n.children) visit(childPath(path, name), c, live?.children.get(name))
  }
  visit('/', root, shared)
  return out
}

/** Saves a store. */
export function snapshotStore(store: Xenstore): XenstoreSnapshot {
  if (!(store instanceof Xenstore))
    throw new XenstoreError('EINVAL', 'snapshot', 'store must be a Xenstore')
  return {
    version: 1,
    generation: store.generation,
    lastTxId: store.transactions.lastId,
    nodes: saveTree(store.root),
    transactions: [...store.transactions.all()].map((t) => ({
      id: t.id,
      domid: t.domid,
      baseGeneration: t.baseGeneration,
      // A transaction that can still commit started from the live tree: save only its changes.
      nodes: saveTree(t.root, t.base === store.root ? store.root : undefined),
    })),
    watches: store.watches
      .all()
      .filter((w) => w.domid !== 0)
      .map((w) => ({ domid: w.domid, path: w.abs.slice(w.relPrefix), token: w.token })),
  }
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null
const isU32 = (x: unknown): x is number =>
  Number.isSafeInteger(x) && (x as number) >= 0 && (x as number) <= 0xffffffff
const isDomid = (x: unknown): x is number =>
  Number.isSafeInteger(x) && (x as number) >= 0 && (x as number) <= 0xffff

function bytes(x: unknown, what: string): Uint8Array {
  if (typeof x !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(x) || x.length % 4 !== 0)
    bad(`${what} is not base64`)
  return new Uint8Array(Buffer.from(x, 'base64'))
}

function perms(x: unknown, what: string): XsPerm[] {
  if (!Array.isArray(x) || x.length === 0) bad(`${what}: perms must be a non-empty array`)
  return x.map((s) => {
    const p = typeof s === 'string' ? parsePerm(s) : undefined
    if (p === undefined) bad(`${what}: bad permission ${JSON.stringify(s)}`)
    return p
  })
}

const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i])
const samePerms = (a: readonly XsPerm[], b: readonly XsPerm[]) =>
  a.length === b.length && a.every((x, i) => x.access === b[i]?.access && x.domid === b[i]?.domid)

/**
 * A commit tells changed nodes by object identity (committedChanges), which JSON loses: give a
 * loaded node the value and perms objects of the live node at its path when equal, the parent's
 * perms when equal (as a parent made on the way to a write has); implicit parents get the shared
 * empty value.
 */
function shareIdentity(node: XsNode, root: XsNode, path: string, shared?: XsNode): XsNode {
  const els = pathElements(path)
  const live = shared === undefined ? undefined : lookup(shared, els)
  const parent = lookup(root, els.slice(0, -1))
  let { value, perms } = node
  if (value !== EMPTY_VALUE && live !== undefined && live.value !== EMPTY_VALUE)
    if (sameBytes(live.value, value)) value = live.value
  if (live !== undefined && samePerms(live.perms, perms)) perms = live.perms
  else if (parent !== undefined && samePerms(parent.perms, perms)) perms = parent.perms
  return { ...node, value, perms }
}

function loadTree(x: unknown, what: string, shared?: XsNode): XsNode {
  if (!Array.isArray(x) || x.length === 0) bad(`${what}: nodes must be a non-empty array`)
  let root: XsNode | undefined
  for (const r of x as unknown[]) {
    if (!isObj(r) || typeof r.path !== 'string') bad(`${what}: bad node record`)
    let node: XsNode
    if (r.same === true && root !== undefined && shared !== undefined) {
      const live = lookup(shared, pathElements(r.path))
      if (live === undefined) bad(`${what}: ${r.path} is not in the live tree`)
      node = live
    } else {
      if (!isU32(r.gencnt)) bad(`${what}: bad node record`)
      node = {
        value: bytes(r.value, `${what} ${r.path}`),
        perms: perms(r.perms, `${what} ${r.path}`),
        children: new Map(),
        gencnt: r.gencnt,
      }
      if (r.implicit !== undefined && (r.implicit !== true || node.value.length !== 0))
        bad(`${what}: ${r.path}: bad implicit flag`)
      if (r.implicit === true) node = { ...node, value: EMPTY_VALUE }
      if (root !== undefined) node = shareIdentity(node, root, r.path, shared)
    }
    if (root === undefined) {
      if (r.path !== '/') bad(`${what}: the first node must be the root`)
      root = node
      continue
    }
    const p = resolvePath(r.path, 0)
    if (typeof p === 'string' || p.relPrefix !== 0 || r.path === '/')
      bad(`${what}: bad path ${r.path}`)
    const els = pathElements(r.path)
    if (lookup(root, els) !== undefined) bad(`${what}: ${r.path} twice`)
    const parent = lookup(root, els.slice(0, -1))
    if (parent === undefined) bad(`${what}: ${r.path} before its parent`)
    // Keep the saved gencnt of the parent: replaceAt would count the child as an addition.
    const children = new Map(parent.children).set(els[els.length - 1] as string, node)
    root = replaceAt(root, els.slice(0, -1), { ...parent, children })
  }
  return root as XsNode
}

/**
 * Rebuilds a store from `snapshotStore()` output. `sinkFor(domid)` gives where each saved guest
 * watch delivers its events (a server's `sink`); a domain it has no sink for is an error.
 */
export function restoreStore(
  snap: unknown,
  sinkFor: (domid: number) => WatchSink | undefined,
  options: XenstoreOptions = {},
): Xenstore {
  if (typeof sinkFor !== 'function') bad('sinkFor must be a function')
  if (!isObj(snap) || snap.version !== 1) bad('not a version 1 xenstore snapshot')
  if (!isU32(snap.generation) || !isU32(snap.lastTxId)) bad('bad generation or lastTxId')
  const store = new Xenstore(options)
  store.root = loadTree(snap.nodes, 'store')
  store.nodeCount = countNodes(store.root)
  store.generation = snap.generation
  store.transactions.lastId = snap.lastTxId
  if (!Array.isArray(snap.transactions)) bad('transactions must be an array')
  for (const t of snap.transactions as unknown[]) {
    if (!isObj(t) || !isU32(t.id) || t.id === 0 || !isDomid(t.domid) || !isU32(t.baseGeneration))
      bad('bad transaction')
    if (store.transactions.get(t.domid, t.id) !== undefined) bad(`transaction ${t.id} twice`)
    // Only a transaction that can still commit shares the live tree (see snapshotStore).
    const live = t.baseGeneration === store.generation ? store.root : undefined
    const root = loadTree(t.nodes, `transaction ${t.id}`, live)
    const tx: XsTransaction = {
      id: t.id,
      domid: t.domid,
      baseGeneration: t.baseGeneration,
      root,
      nodeCount: countNodes(root),
      base: live ?? root,
    }
    store.transactions.restore(tx)
  }
  if (!Array.isArray(snap.watches)) bad('watches must be an array')
  for (const w of snap.watches as unknown[]) {
    if (
      !isObj(w) ||
      !isDomid(w.domid) ||
      w.domid === 0 ||
      typeof w.path !== 'string' ||
      typeof w.token !== 'string'
    )
      bad('bad watch')
    const p = resolveWatchPath(w.path, w.domid)
    if (typeof p === 'string') bad(`bad watch path ${JSON.stringify(w.path)}`)
    const sink = sinkFor(w.domid)
    if (sink === undefined) bad(`no sink for the watches of domain ${w.domid}`)
    const added = store.watches.add(w.domid, p, w.token, sink, Number.POSITIVE_INFINITY)
    if (typeof added === 'string') bad(`watch ${JSON.stringify(w.path)} twice`)
  }
  return store
}

/** Saves a connection's in-flight state. */
export function saveConnection(c: XenstoreConnectionState): XsSavedConnection {
  return {
    request: b64(c.request),
    response: c.response ? { bytes: b64(c.response.bytes), written: c.response.written } : null,
    events: c.events.map(b64),
    failed: c.failed,
    droppedEvents: c.droppedEvents,
  }
}

/** Checks and decodes a saved connection. */
export function loadConnection(x: unknown): XenstoreConnectionState {
  if (!isObj(x)) bad('connection must be an object')
  const request = bytes(x.request, 'request')
  if (request.length > XS_HEADER_SIZE + XENSTORE_PAYLOAD_MAX) bad('request too long')
  if (request.length >= XS_HEADER_SIZE) {
    const len = new DataView(request.buffer).getUint32(12, true)
    if (len > XENSTORE_PAYLOAD_MAX || request.length > XS_HEADER_SIZE + len)
      bad('request longer than its header says')
  }
  let response: XenstoreConnectionState['response']
  if (x.response !== null) {
    if (!isObj(x.response) || !isU32(x.response.written)) bad('bad response')
    const b = bytes(x.response.bytes, 'response')
    if (b.length > XS_HEADER_SIZE + XENSTORE_PAYLOAD_MAX || x.response.written >= b.length)
      bad('bad response length')
    response = { bytes: b, written: x.response.written }
  }
  if (!Array.isArray(x.events)) bad('events must be an array')
  const events = (x.events as unknown[]).map((e) => {
    const b = bytes(e, 'event')
    if (b.length < XS_HEADER_SIZE || b.length > XS_HEADER_SIZE + XENSTORE_PAYLOAD_MAX)
      bad('bad event')
    return b
  })
  if (typeof x.failed !== 'boolean' || !isU32(x.droppedEvents)) bad('bad connection flags')
  return { request, response, events, failed: x.failed, droppedEvents: x.droppedEvents }
}
