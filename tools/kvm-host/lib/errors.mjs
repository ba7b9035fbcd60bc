// Exit codes of the harness itself, and the error type that carries one.
// They sit just below 124 (timeout(1)'s code) so that a caller can tell a harness failure from the
// command's own exit status; every harness failure also prints one `kvm-host:` line on stderr.

/** Exit codes of kvm-host's own failures (the command's own exit code passes through untouched). */
export const EXIT = Object.freeze({
  /** QEMU (or another host tool) is missing and apt-get could not install it. */
  HOST_TOOLS: 117,
  /** The guest kernel package could not be found, downloaded or lacks CONFIG_KVM_XEN. */
  KERNEL: 118,
  /** The guest did not reach its /init (no marker within the boot timeout) or QEMU failed to start. */
  NO_BOOT: 119,
  /** kvm/kvm_amd did not load inside the guest, or /dev/kvm did not appear. */
  NO_KVM: 120,
  /** The guest kernel panicked. */
  PANIC: 121,
  /** The guest went away without reporting the command's exit status (crash, lost console). */
  LOST: 122,
  /** --collect could not bring a directory back. */
  COLLECT: 123,
  /** The command (or the whole run) exceeded --timeout; same code as timeout(1). */
  TIMEOUT: 124,
  /** Anything else: bad usage, payload build failure, internal error. */
  HARNESS: 125,
})

/** A failure of the harness (not of the command), with the exit code it maps to. */
export class KvmHostError extends Error {
  /**
   * @param {number} exitCode one of {@link EXIT}
   * @param {string} message what went wrong, one line
   * @param {string} [hint] what to try, one line
   */
  constructor(exitCode, message, hint) {
    super(message)
    this.name = 'KvmHostError'
    /** @type {number} */
    this.exitCode = exitCode
    /** @type {string | undefined} */
    this.hint = hint
  }
}
