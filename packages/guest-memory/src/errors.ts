/** Why a guest memory access was refused. */
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
 * A guest memory access that was refused. Nothing was read or written. Carries the guest
 * physical address and the length of the access so a VMM can turn it into `-EFAULT` for the
 * guest, or report it.
 */
export class GuestMemoryError extends Error {
  /** The errno name a hypervisor returns for this fault (always `EFAULT`). */
  readonly code = 'EFAULT'
  /** The negative errno a hypervisor returns to the guest: `-EFAULT`. */
  readonly errno = -14
  /** Error.name: `'GuestMemoryError'`, what stack traces and logs show. */
  override readonly name = 'GuestMemoryError'

  constructor(
    /** Guest physical address of the first byte of the access. */
    readonly gpa: number,
    /** Length of the access in bytes. */
    readonly length: number,
    /** What was wrong with it. */
    readonly fault: GuestMemoryFault,
  ) {
    super(`guest memory: ${fault} access of ${length} byte(s) at GPA ${formatGpa(gpa)}`)
  }
}

function formatGpa(gpa: number): string {
  return Number.isSafeInteger(gpa) && gpa >= 0 ? `0x${gpa.toString(16)}` : String(gpa)
}
