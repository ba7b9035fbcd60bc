// Xen errno values (xen/include/public/errno.h). For every errno the engine returns they equal
// Linux's, so a negative value here is what both Xen and KVM hand back.

/** Xen's errno numbers, by name. Return values are their negatives. */
export const XenErrno = {
  /** Operation not permitted: e.g. alloc_unbound for a remote domain other than self or dom0. */
  EPERM: 1,
  /** No such entry: a vCPU that does not exist (VCPUOP_*, bind_virq, bind_ipi). */
  ENOENT: 2,
  /** No such domain: `dom` is neither DOMID_SELF nor the guest's own id. */
  ESRCH: 3,
  /** Bad address: a hypercall argument or vcpu_info outside guest RAM. */
  EFAULT: 14,
  /** Busy: e.g. a backend already attached to the port. */
  EBUSY: 16,
  /** Already exists: e.g. the VIRQ is already bound on that vCPU. */
  EEXIST: 17,
  /** Invalid argument: a port out of range or in the wrong state, a bad VIRQ or offset. */
  EINVAL: 22,
  /** No space: every port of the 2-level table is in use. */
  ENOSPC: 28,
  /** Not implemented: an unknown command, or one left to the VMM (FIFO ops, bind_pirq). */
  ENOSYS: 38,
  /** Timer expired: a VCPU_SSHOTTMR_future single-shot timeout that has already passed. */
  ETIME: 62,
  /** Operation not supported (Xen's public errno.h; the engine itself never returns it). */
  EOPNOTSUPP: 95,
  /** Not connected: the port is masked, so setting it pending raised no upcall (as KVM). */
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
  /** Error.name: `'EvtchnError'`, what stack traces and logs show. */
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
