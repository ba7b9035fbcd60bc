// Xen errno values (xen/include/public/errno.h). For every errno the engine returns they equal
// Linux's, so a negative value here is what both Xen and KVM hand back.

/** Xen's errno numbers, by name. Return values are their negatives. */
export const XenErrno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  ENOSPC: 28,
  ENOSYS: 38,
  ETIME: 62,
  EOPNOTSUPP: 95,
  ENOTCONN: 107,
} as const

/** The name of a Xen errno. */
export type XenErrnoName = keyof typeof XenErrno

const NAMES = new Map<number, XenErrnoName>(
  Object.entries(XenErrno).map(([name, n]) => [n, name as XenErrnoName]),
)

/** The name of errno `n` (positive or negative), or `E<n>` for one the engine never returns. */
export function errnoName(n: number): string {
  return NAMES.get(Math.abs(n)) ?? `E${Math.abs(n)}`
}

/**
 * A VMM-side call into the engine that cannot be honoured (a bad configuration value, a malformed
 * snapshot). Guest-facing entry points never throw: they return negative errnos instead.
 */
export class EvtchnError extends Error {
  override readonly name = 'EvtchnError'
  /** The negative errno a guest would see for the same request. */
  readonly errno: number

  constructor(
    /** Errno name, e.g. `EINVAL`. */
    readonly code: XenErrnoName,
    /** The engine operation that failed, e.g. `setVcpuInfo`. */
    readonly operation: string,
    /** What to change to make it work. */
    readonly hint: string,
  ) {
    super(`${operation}: ${code}: ${hint}`)
    this.errno = -XenErrno[code]
  }
}
