// Snapshot and restore of a whole store and of a server's connection, as plain JSON-able
// objects (values and in-flight bytes in base64). Everything a guest can make the store hold is
// here: nodes, open transactions (with their pending watch changes) and the guest's watches.
// Host (dom0) watches are callbacks, so they are not saved: the host sets them up again, as QEMU
// saves only guest watches (xs_impl_serialize()). A snapshot is untrusted on restore: every field
// is checked and a bad one throws XenstoreError EINVAL.

import { XenstoreError } from './errors.js'
import { pathElements, resolvePath, resolveWatchPath } from './path.js'
import { formatPerm, parsePerm, type XsPerm } from './perms.js'
import type { XenstoreConnectionState } from './server.js'
import { Xenstore, type XenstoreOptions } from './store.js'
import { MAX_TX_CHANGES, type XsTransaction } from './transactions.js'
import { countNodes, forEachDescendant, lookup, replaceAt, type XsNode } from './tree.js'
import type { WatchSink, XsChange } from './watches.js'
import { XENSTORE_PAYLOAD_MAX, XS_HEADER_SIZE } from './wire.js'

/** One node of a saved tree. Records come parents first. */
export interface XsNodeRecord {
  /** Absolute path; the first record is the root, `/`. */
  readonly path: string
  /** The value, base64. */
  readonly value: string
  /** Permissions in wire form, owner first, e.g. `['n0', 'r1']`. */
  readonly perms: readonly string[]
  /** The node's generation count. */
  readonly gencnt: number
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
  readonly transactions: readonly {
    readonly id: number
    readonly domid: number
    readonly baseGeneration: number
    readonly nodes: readonly XsNodeRecord[]
    readonly changes: readonly {
      readonly path: string
      readonly exact: boolean
      readonly perms: readonly (readonly string[])[]
    }[]
    readonly overflowed: boolean
  }[]
  /** Guest watches: the path as the guest gave it, and the token. */
  readonly watches: readonly {
    readonly domid: number
    readonly path: string
    readonly token: string
  }[]
}

/** A saved server: its store and its connection (the ring page is saved with guest RAM). */
export interface XenstoreServerSnapshot {
  /** Format version: 1. */
  readonly version: 1
  /** The guest's domain id. */
  readonly domid: number
  /** The store. */
  readonly store: XenstoreSnapshot
  /** In-flight bytes and queued events, base64. */
  readonly connection: {
    readonly request: string
    readonly response: { readonly bytes: string; readonly written: number } | null
    readonly events: readonly string[]
    readonly failed: boolean
    readonly droppedEvents: number
  }
}

const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64')

function bad(detail: string): never {
  throw new XenstoreError('EINVAL', 'restore', detail)
}

function saveTree(root: XsNode): XsNodeRecord[] {
  const rec = (path: string, n: XsNode): XsNodeRecord => ({
    path,
    value: b64(n.value),
    perms: n.perms.map(formatPerm),
    gencnt: n.gencnt,
  })
  const out = [rec('/', root)]
  // forEachDescendant visits children before parents; restore wants parents first.
  const below: XsNodeRecord[] = []
  forEachDescendant(root, '/', (p, n) => below.push(rec(p, n)))
  below.sort((a, b) => a.path.split('/').length - b.path.split('/').length)
  return out.concat(below)
}

/** Saves a store. */
export function snapshotStore(store: Xenstore): XenstoreSnapshot {
  return {
    version: 1,
    generation: store.generation,
    lastTxId: store.transactions.lastId,
    nodes: saveTree(store.root),
    transactions: [...store.transactions.all()].map((t) => ({
      id: t.id,
      domid: t.domid,
      baseGeneration: t.baseGeneration,
      nodes: saveTree(t.root),
      changes: [...t.changes.values()].map((c) => ({
        path: c.path,
        exact: c.exact,
        perms: c.perms.map((p) => p.map(formatPerm)),
      })),
      overflowed: t.overflowed,
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

function loadTree(x: unknown, what: string): XsNode {
  if (!Array.isArray(x) || x.length === 0) bad(`${what}: nodes must be a non-empty array`)
  let root: XsNode | undefined
  for (const r of x as unknown[]) {
    if (!isObj(r) || typeof r.path !== 'string' || !isU32(r.gencnt)) bad(`${what}: bad node record`)
    const node: XsNode = {
      value: bytes(r.value, `${what} ${r.path}`),
      perms: perms(r.perms, `${what} ${r.path}`),
      children: new Map(),
      gencnt: r.gencnt,
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
    if (lookup(root, els.slice(0, -1)) === undefined) bad(`${what}: ${r.path} before its parent`)
    // Keep the saved gencnt of the parent: replaceAt would count the child as an addition.
    const parent = lookup(root, els.slice(0, -1)) as XsNode
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
    if (
      !Array.isArray(t.changes) ||
      t.changes.length > MAX_TX_CHANGES ||
      typeof t.overflowed !== 'boolean'
    )
      bad(`transaction ${t.id}: bad changes`)
    const root = loadTree(t.nodes, `transaction ${t.id}`)
    const changes = new Map<string, XsChange>()
    for (const c of t.changes as unknown[]) {
      if (
        !isObj(c) ||
        typeof c.path !== 'string' ||
        typeof c.exact !== 'boolean' ||
        !Array.isArray(c.perms)
      )
        bad(`transaction ${t.id}: bad change`)
      const p = resolvePath(c.path, 0)
      if (typeof p === 'string' || p.relPrefix !== 0) bad(`transaction ${t.id}: bad change path`)
      const ps = (c.perms as unknown[]).map((x) => perms(x, `transaction ${t.id} change`))
      changes.set(`${c.exact ? 'x' : 'p'}${c.path}`, { path: c.path, exact: c.exact, perms: ps })
    }
    const tx: XsTransaction = {
      id: t.id,
      domid: t.domid,
      baseGeneration: t.baseGeneration,
      root,
      nodeCount: countNodes(root),
      changes,
      overflowed: t.overflowed,
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
export function saveConnection(c: XenstoreConnectionState): XenstoreServerSnapshot['connection'] {
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
