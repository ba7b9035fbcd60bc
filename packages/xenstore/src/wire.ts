// The xenstore wire protocol of Xen's io/xs_wire.h: message types, the 16-byte xsd_sockmsg
// header, payload limits, and the NUL-separated string fields every payload is made of.

import { checkBytes, checkU32 } from './check.js'
import { XenstoreError } from './errors.js'

/** `enum xsd_sockmsg_type`: the `type` field of a message header. */
export const XsType = {
  /** XS_CONTROL (also XS_DEBUG): privileged daemon control. */
  CONTROL: 0,
  /** List the children of a node. */
  DIRECTORY: 1,
  /** Read a node's value. */
  READ: 2,
  /** Read a node's permissions. */
  GET_PERMS: 3,
  /** Register a watch. */
  WATCH: 4,
  /** Remove a watch. */
  UNWATCH: 5,
  /** Start a transaction. */
  TRANSACTION_START: 6,
  /** Commit or abort a transaction. */
  TRANSACTION_END: 7,
  /** Toolstack: introduce a domain (privileged). */
  INTRODUCE: 8,
  /** Toolstack: release a domain (privileged). */
  RELEASE: 9,
  /** The home path of a domain, `/local/domain/<domid>`. */
  GET_DOMAIN_PATH: 10,
  /** Write a node's value, creating it and missing parents. */
  WRITE: 11,
  /** Create a node (and missing parents) if absent. */
  MKDIR: 12,
  /** Remove a node and its subtree. */
  RM: 13,
  /** Replace a node's permissions. */
  SET_PERMS: 14,
  /** Server to guest: a watch fired. */
  WATCH_EVENT: 15,
  /** Server to guest: the request failed; the payload is the errno name. */
  ERROR: 16,
  /** Toolstack: is a domain introduced (privileged). */
  IS_DOMAIN_INTRODUCED: 17,
  /** Toolstack: resume a domain (privileged). */
  RESUME: 18,
  /** Toolstack: set a stub domain's target (privileged). */
  SET_TARGET: 19,
  /** Drop all watches and transactions of the caller. */
  RESET_WATCHES: 21,
  /** A slice of a long directory listing, with the node's generation count. */
  DIRECTORY_PART: 22,
} as const

/** A message type name, e.g. `'READ'`. */
export type XsTypeName = keyof typeof XsType

/** `sizeof(struct xsd_sockmsg)`: type, req_id, tx_id, len, each a little-endian u32. */
export const XS_HEADER_SIZE = 16
/** `XENSTORE_PAYLOAD_MAX`: the largest payload of any message, either way. */
export const XENSTORE_PAYLOAD_MAX = 4096
/** `XENSTORE_ABS_PATH_MAX`: the longest absolute path. */
export const XENSTORE_ABS_PATH_MAX = 3072
/** `XENSTORE_REL_PATH_MAX`: the longest relative path. */
export const XENSTORE_REL_PATH_MAX = 2048
/** `XBT_NULL`: the tx_id of a request outside any transaction. */
export const XBT_NULL = 0

/** One decoded `struct xsd_sockmsg` header. */
export interface XsHeader {
  /** Message type (`XsType`), any u32 as the guest sent it. */
  readonly type: number
  /** Request id, echoed in the reply. */
  readonly reqId: number
  /** Transaction id, `XBT_NULL` outside a transaction. */
  readonly txId: number
  /** Payload length in bytes. */
  readonly len: number
}

/** Decodes the header at the start of `bytes` (at least `XS_HEADER_SIZE` long). */
export function decodeHeader(bytes: Uint8Array): XsHeader {
  if (!(bytes instanceof Uint8Array) || bytes.length < XS_HEADER_SIZE)
    throw new XenstoreError('EINVAL', 'decode-header', `need ${XS_HEADER_SIZE} bytes`)
  const dv = new DataView(bytes.buffer, bytes.byteOffset, XS_HEADER_SIZE)
  return {
    type: dv.getUint32(0, true),
    reqId: dv.getUint32(4, true),
    txId: dv.getUint32(8, true),
    len: dv.getUint32(12, true),
  }
}

/** Encodes a whole message: header then payload. */
export function encodeMessage(
  type: number,
  reqId: number,
  txId: number,
  payload: Uint8Array,
): Uint8Array {
  checkU32(type, 'type', 'encode-message')
  checkU32(reqId, 'reqId', 'encode-message')
  checkU32(txId, 'txId', 'encode-message')
  checkBytes(payload, 'payload', 'encode-message')
  if (payload.length > XENSTORE_PAYLOAD_MAX)
    throw new XenstoreError('E2BIG', 'encode-message', `${payload.length}-byte payload`)
  const out = new Uint8Array(XS_HEADER_SIZE + payload.length)
  const dv = new DataView(out.buffer)
  dv.setUint32(0, type >>> 0, true)
  dv.setUint32(4, reqId >>> 0, true)
  dv.setUint32(8, txId >>> 0, true)
  dv.setUint32(12, payload.length, true)
  out.set(payload, XS_HEADER_SIZE)
  return out
}

const utf8 = new TextEncoder()
const latin1 = new TextDecoder('latin1')

/** The bytes of `s` (UTF-8), for host-side values and paths. */
export function toBytes(s: string): Uint8Array {
  return utf8.encode(s)
}

/**
 * Byte string to JS string, one char per byte. Paths are ASCII once validated; anything else
 * fails validation, so a lossless 1:1 decode is what keeps checks honest.
 */
export function bytesToString(bytes: Uint8Array): string {
  return latin1.decode(bytes)
}

/** A payload split into its leading NUL-terminated strings and what follows them. */
export interface XsFields {
  /** The strings, without their NULs, one char per byte. */
  readonly strings: string[]
  /** The bytes after the last NUL taken. */
  readonly rest: Uint8Array
}

/**
 * Payload fields: `count` NUL-terminated strings from the start, then the rest of the payload
 * (bytes after the last NUL). `undefined` when fewer than `count` terminated strings are present:
 * the request is malformed (`EINVAL`), as with an unterminated string.
 */
export function splitFields(payload: Uint8Array, count: number): XsFields | undefined {
  checkBytes(payload, 'payload', 'split-fields')
  checkU32(count, 'count', 'split-fields')
  const strings: string[] = []
  let at = 0
  for (let i = 0; i < count; i++) {
    const nul = payload.indexOf(0, at)
    if (nul < 0) return undefined
    strings.push(bytesToString(payload.subarray(at, nul)))
    at = nul + 1
  }
  return { strings, rest: payload.subarray(at) }
}

/** A payload made of NUL-terminated strings. */
export function joinFields(strings: readonly string[]): Uint8Array {
  if (!Array.isArray(strings) || strings.some((s) => typeof s !== 'string'))
    throw new XenstoreError('EINVAL', 'join-fields', 'strings must be an array of strings')
  let n = 0
  for (const s of strings) n += s.length + 1
  const out = new Uint8Array(n)
  let at = 0
  for (const s of strings) {
    for (let i = 0; i < s.length; i++) out[at++] = s.charCodeAt(i) & 0xff
    out[at++] = 0
  }
  return out
}
