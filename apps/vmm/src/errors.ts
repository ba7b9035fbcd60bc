// The VMM's errors and exit codes. Every failure the user can cause or meet ends as a VmmError
// with a one-line message, an optional hint and the process exit code it maps to.

/** Process exit codes of `tsvmm`. */
export const EXIT = {
  /** The guest powered off and reported no failed check. */
  OK: 0,
  /** The guest reported a failed check, or shut down with a reason other than poweroff. */
  GUEST_FAILED: 1,
  /** Bad flags, a bad config file or a bad guest image. */
  USAGE: 2,
  /** The VM itself failed: triple fault, KVM internal error, timeout, watchdog. */
  VM_FAILED: 3,
  /** KVM is missing, or lacks what the requested configuration needs. */
  NO_KVM: 4,
  /** A bug in tsvmm (EX_SOFTWARE). */
  INTERNAL: 70,
  /** Stopped by SIGINT (128 + 2). */
  SIGINT: 130,
  /** Stopped by SIGTERM (128 + 15). */
  SIGTERM: 143,
} as const

/** An exit code of `tsvmm`. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/** The kind of a {@link VmmError}, which decides the exit code. */
export type VmmErrorKind = 'usage' | 'config' | 'image' | 'kvm' | 'vm' | 'internal'

const KIND_EXIT: Record<VmmErrorKind, ExitCode> = {
  usage: EXIT.USAGE,
  config: EXIT.USAGE,
  image: EXIT.USAGE,
  kvm: EXIT.NO_KVM,
  vm: EXIT.VM_FAILED,
  internal: EXIT.INTERNAL,
}

/** A failure reported to the user as `tsvmm: <message>` (and `hint: ...`), then an exit code. */
export class VmmError extends Error {
  override readonly name = 'VmmError'
  /** Exit code for this failure. */
  readonly exitCode: ExitCode

  constructor(
    /** What went wrong, which decides the exit code. */
    readonly kind: VmmErrorKind,
    message: string,
    /** What to do about it, if there is something. */
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.exitCode = KIND_EXIT[kind]
  }
}
