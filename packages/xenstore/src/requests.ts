// One guest request in, one reply out: the payload formats of docs/misc/xenstore.txt, parsed as
// QEMU's xs_read(), xs_write(), ... (hw/i386/kvm/xen_xenstore.c) parse them. Malformed payloads
// (a missing NUL, a bad number) get EINVAL; privileged toolstack requests get EACCES, as a guest
// gets from xenstored; unknown types ENOSYS.

import { checkBytes, checkDomid, checkFunction, checkU32 } from './check.js'
import { XenstoreError, XsErrno, type XsErrnoName } from './errors.js'
import { domainPath } from './path.js'
import { formatPerm, MAX_DOMID, parsePerm, type XsPerm } from './perms.js'
import { Xenstore } from './store.js'
import type { WatchSink } from './watches.js'
import {
  bytesToString,
  encodeMessage,
  joinFields,
  splitFields,
  XBT_NULL,
  XENSTORE_PAYLOAD_MAX,
  type XsHeader,
  XsType,
} from './wire.js'

const OK = joinFields(['OK'])
const EMPTY = new Uint8Array(0)
const errorPayloads = new Map<string, Uint8Array>()

class Malformed extends Error {}
const malformed = new Malformed()

/** The XS_ERROR reply to a request. */
export function errorReply(header: XsHeader, code: XsErrnoName): Uint8Array {
  if (!Object.hasOwn(XsErrno, code))
    throw new XenstoreError('EINVAL', 'error-reply', `not an xsd_errors name: ${String(code)}`)
  let payload = errorPayloads.get(code)
  if (payload === undefined) {
    payload = joinFields([code])
    errorPayloads.set(code, payload)
  }
  return encodeMessage(XsType.ERROR, header.reqId, header.txId, payload)
}

/** The one path of a payload that must be exactly `<path>|` plus anything NUL-terminated. */
function onePath(payload: Uint8Array): string {
  // QEMU: "len == 0 || req_data[len - 1] != '\0'" is EINVAL; the path is the first string.
  if (payload.length === 0 || payload[payload.length - 1] !== 0) throw malformed
  return (splitFields(payload, 1) as { strings: string[] }).strings[0] as string
}

function fields(payload: Uint8Array, n: number): { strings: string[]; rest: Uint8Array } {
  const f = splitFields(payload, n)
  if (f === undefined) throw malformed
  return f
}

function decimal(s: string, max: number): number {
  if (!/^[0-9]{1,10}$/.test(s)) throw malformed
  const n = Number(s)
  if (n > max) throw malformed
  return n
}

/**
 * Handles one complete request from domain `domid` and returns the encoded reply. Watch events
 * the request causes go to `sink` (the caller queues them behind the reply, as QEMU does).
 */
export function handleRequest(
  store: Xenstore,
  domid: number,
  header: XsHeader,
  payload: Uint8Array,
  sink: WatchSink,
): Uint8Array {
  if (!(store instanceof Xenstore))
    throw new XenstoreError('EINVAL', 'handle-request', 'store must be a Xenstore')
  checkDomid(domid, 'handle-request')
  if (typeof header !== 'object' || header === null)
    throw new XenstoreError('EINVAL', 'handle-request', 'header must be an XsHeader')
  for (const k of ['type', 'reqId', 'txId'] as const) checkU32(header[k], k, 'handle-request')
  checkBytes(payload, 'payload', 'handle-request')
  checkFunction(sink, 'sink', 'handle-request')
  // A refused guest request is an answer, not a bug: its XenstoreError needs no stack trace, and
  // capturing one per bad message is most of the cost of a hostile stream.
  const stackTraceLimit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    const reply = dispatch(store, domid, header, payload, sink)
    if (reply.length > XENSTORE_PAYLOAD_MAX) return errorReply(header, 'E2BIG')
    return encodeMessage(header.type, header.reqId, header.txId, reply)
  } catch (e) {
    if (e === malformed) return errorReply(header, 'EINVAL')
    if (e instanceof XenstoreError) return errorReply(header, e.code)
    throw e
  } finally {
    Error.stackTraceLimit = stackTraceLimit
  }
}

function dispatch(
  store: Xenstore,
  domid: number,
  h: XsHeader,
  payload: Uint8Array,
  sink: WatchSink,
): Uint8Array {
  const tx = h.txId
  switch (h.type) {
    case XsType.READ:
      return store.read(domid, tx, onePath(payload))
    case XsType.WRITE: {
      const { strings, rest } = fields(payload, 1)
      store.write(domid, tx, strings[0] as string, rest)
      return OK
    }
    case XsType.MKDIR:
      store.mkdir(domid, tx, onePath(payload))
      return OK
    case XsType.RM:
      store.rm(domid, tx, onePath(payload))
      return OK
    case XsType.DIRECTORY:
      return joinFields(store.directory(domid, tx, onePath(payload)).children)
    case XsType.DIRECTORY_PART:
      return directoryPart(store, domid, tx, payload)
    case XsType.GET_PERMS:
      return joinFields(store.getPerms(domid, tx, onePath(payload)).map(formatPerm))
    case XsType.SET_PERMS:
      return setPerms(store, domid, tx, payload)
    case XsType.WATCH: {
      // <wpath>|<token>|? — trailing bytes are allowed; tx_id is ignored.
      const [path, token] = fields(payload, 2).strings as [string, string]
      store.watch(domid, path, token, sink)
      return OK
    }
    case XsType.UNWATCH: {
      const [path, token] = fields(payload, 2).strings as [string, string]
      store.unwatch(domid, path, token)
      return OK
    }
    case XsType.TRANSACTION_START:
      if (payload.length !== 1 || payload[0] !== 0 || tx !== XBT_NULL) throw malformed
      return joinFields([String(store.transactionStart(domid))])
    case XsType.TRANSACTION_END: {
      if (payload.length !== 2 || payload[1] !== 0) throw malformed
      const c = payload[0]
      if (c !== 0x54 && c !== 0x46) throw malformed // 'T' commit, 'F' abort
      store.transactionEnd(domid, tx, c === 0x54)
      return OK
    }
    case XsType.RESET_WATCHES:
      onePath(payload)
      store.resetWatches(domid)
      return OK
    case XsType.GET_DOMAIN_PATH:
      return joinFields([domainPath(decimal(onePath(payload), MAX_DOMID))])
    case XsType.CONTROL:
    case XsType.INTRODUCE:
    case XsType.RELEASE:
    case XsType.IS_DOMAIN_INTRODUCED:
    case XsType.RESUME:
    case XsType.SET_TARGET:
      // Toolstack requests: xenstored refuses them to an unprivileged domain.
      throw new XenstoreError('EACCES', 'request', `type ${h.type} is privileged`)
    default:
      throw new XenstoreError('ENOSYS', 'request', `unknown type ${h.type}`)
  }
}

function setPerms(store: Xenstore, domid: number, tx: number, payload: Uint8Array): Uint8Array {
  // <path>|<perm-as-string>|+? — each perm NUL-terminated; unterminated trailing bytes ignored.
  const { strings, rest } = fields(payload, 1)
  const perms: XsPerm[] = []
  let at = 0
  for (;;) {
    const nul = rest.indexOf(0, at)
    if (nul < 0) break
    const p = parsePerm(bytesToString(rest.subarray(at, nul)))
    if (p === undefined) throw malformed
    perms.push(p)
    at = nul + 1
  }
  if (perms.length === 0) throw malformed
  store.setPerms(domid, tx, strings[0] as string, perms)
  return OK
}

function directoryPart(store: Xenstore, domid: number, tx: number, payload: Uint8Array) {
  // <path>|<offset>| with nothing after; reply <gencnt>|<child>|* from byte <offset> of the full
  // listing, cut at XENSTORE_PAYLOAD_MAX, with one more NUL to say "the end" if it fits.
  const { strings, rest } = fields(payload, 2)
  if (rest.length !== 0) throw malformed
  const offset = decimal(strings[1] as string, 0xffffffff)
  const dir = store.directory(domid, tx, strings[0] as string)
  const head = joinFields([String(dir.gencnt)])
  const all = joinFields(dir.children)
  const slice = offset >= all.length ? EMPTY : all.subarray(offset)
  const room = XENSTORE_PAYLOAD_MAX - head.length
  const body = slice.subarray(0, room)
  const end = body.length < room ? 1 : 0
  const out = new Uint8Array(head.length + body.length + end)
  out.set(head)
  out.set(body, head.length)
  return out
}
