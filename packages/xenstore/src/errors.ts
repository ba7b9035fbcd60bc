// The errors xenstored sends, and the typed error the host-side API throws.

/**
 * The errno values xenstored can put in an `XS_ERROR` reply, by name, in the order of
 * `xsd_errors[]` in Xen's `io/xs_wire.h` (Linux numbers; xenstored runs on Linux and BSD alike
 * but sends only the name, so the number is for the host side).
 */
export const XsErrno = {
  /** Invalid argument: a malformed path, message or permission string. */
  EINVAL: 22,
  /** Permission denied: the node's permissions do not allow the access. */
  EACCES: 13,
  /** Already exists: e.g. the same watch (path and token) twice. */
  EEXIST: 17,
  /** Is a directory (in the list; xenstored never sends it any more). */
  EISDIR: 21,
  /** No such node, transaction or watch. */
  ENOENT: 2,
  /** Out of memory. */
  ENOMEM: 12,
  /** A quota is used up: nodes, transactions or permission entries. */
  ENOSPC: 28,
  /** I/O error. */
  EIO: 5,
  /** Directory not empty. */
  ENOTEMPTY: 39,
  /** Not implemented: an unknown message type. */
  ENOSYS: 38,
  /** Read-only file system. */
  EROFS: 30,
  /** Busy. */
  EBUSY: 16,
  /** Try again: the store changed under a transaction, so its commit failed. */
  EAGAIN: 11,
  /** Already connected. */
  EISCONN: 106,
  /** Too big: a path, value, reply or the watch quota. */
  E2BIG: 7,
  /** Not permitted: e.g. a guest giving away a node it owns. */
  EPERM: 1,
} as const

/** The name of an errno xenstored can send, e.g. `'ENOENT'`. */
export type XsErrnoName = keyof typeof XsErrno

/**
 * A host-side call that cannot be honoured: a bad argument, a store operation the store refuses
 * (with the same errno a guest would get), or a malformed snapshot. Guest requests never throw:
 * they get an `XS_ERROR` reply.
 */
export class XenstoreError extends Error {
  /** Error.name: `'XenstoreError'`, what stack traces and logs show. */
  override readonly name = 'XenstoreError'
  /** The negative errno, like Node's own errors (e.g. -22 for EINVAL). */
  readonly errno: number

  constructor(
    /** The errno name, e.g. `'EINVAL'`, as xenstored spells it on the wire. */
    readonly code: XsErrnoName,
    /** The operation that failed, e.g. `'write'` or `'restore'`. */
    readonly operation: string,
    /** What went wrong, for logs. */
    detail: string,
  ) {
    super(`xenstore ${operation}: ${code}: ${detail}`)
    this.errno = -XsErrno[code]
  }
}
