/** Why a guest memory access or argument was refused. */
export type GuestMemoryFault =
  /** Some byte of the access is in no region (a hole, or beyond the end of guest RAM). */
  | 'unmapped'
  /** The access starts in one region and runs off its end (regions are never joined). */
  | 'crosses-region'
  /** An atomic or lane access whose 32-bit lane cannot be formed at that address. */
  | 'unaligned'
  /** The address or length is not a non-negative safe integer. */
  | 'invalid-address'
  /**
   * The region's buffer was detached (kvm-sys detaches its buffers when a memory region is
   * removed or the VM is closed): the memory is gone, so the access is refused.
   */
  | 'detached'
  /** A region given to the constructor is malformed, or overlaps another (`EINVAL`). */
  | 'invalid-region'
  /** A value or buffer to write or read into has the wrong type or range (`EINVAL`). */
  | 'invalid-value'

const EINVAL_FAULTS: ReadonlySet<GuestMemoryFault> = new Set(['invalid-region', 'invalid-value'])

/**
 * A refused guest memory access or argument. Nothing was read or written. Carries the guest
 * physical address and the length of the access so a VMM can turn it into `-EFAULT` for the
 * guest, or report it.
 *
 * `errno` follows Node's rule: it is the negative errno (`-14`), `code` its name (`'EFAULT'`).
 * An access fault is `EFAULT`; a malformed argument from the VMM itself (fault `invalid-region`
 * or `invalid-value`) is `EINVAL`.
 */
export class GuestMemoryError extends Error {
  /** The errno name: `EFAULT` for an access fault, `EINVAL` for a malformed argument. */
  readonly code: 'EFAULT' | 'EINVAL'
  /** The negative errno, as in Node's own errors: `-14` (EFAULT) or `-22` (EINVAL). */
  readonly errno: -14 | -22
  /** Error.name: `'GuestMemoryError'`, what stack traces and logs show. */
  override readonly name = 'GuestMemoryError'

  constructor(
    /** Guest physical address of the first byte of the access. */
    readonly gpa: number,
    /** Length of the access in bytes. */
    readonly length: number,
    /** What was wrong with it. */
    readonly fault: GuestMemoryFault,
    detail?: string,
  ) {
    super(
      `guest memory: ${fault} access of ${describe(length)} byte(s) at GPA ${describe(gpa, true)}` +
        (detail === undefined ? '' : `: ${detail}`),
    )
    const inval = EINVAL_FAULTS.has(fault)
    this.code = inval ? 'EINVAL' : 'EFAULT'
    this.errno = inval ? -22 : -14
  }
}

/** A value for a message; never throws (a symbol, a null-prototype object, a revoked proxy). */
export function describe(v: unknown, hex = false): string {
  if (typeof v === 'number')
    return hex && Number.isSafeInteger(v) && v >= 0 ? `0x${v.toString(16)}` : String(v)
  if (typeof v === 'bigint') return `${v}n`
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)
  if (typeof v === 'symbol') return 'a symbol'
  if (typeof v === 'function') return 'a function'
  if (v === null || typeof v !== 'object') return String(v)
  return 'an object'
}
