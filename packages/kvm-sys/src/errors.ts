// KvmError: the one error type of kvm-sys. A failed ioctl or syscall becomes a KvmError with
// the errno's name, the ioctl's name and, for the common mistakes, a hint.
import { getSystemErrorMap } from 'node:util'

const systemErrors = getSystemErrorMap()

/** The errno name for a number of either sign (`2` or `-2` -> `'ENOENT'`), else `'E<n>'`. */
export function errnoName(errno: number): string {
  return systemErrors.get(-Math.abs(errno))?.[0] ?? `E${Math.abs(errno)}`
}

function errnoMessage(errno: number): string {
  return systemErrors.get(-Math.abs(errno))?.[1] ?? 'unknown error'
}

/** Errors whose cause is often the same: the hint says what to do. */
function defaultHint(
  code: string,
  syscall: string,
  detail: string | undefined,
): string | undefined {
  if (syscall === 'open') {
    if (code === 'ENOENT')
      return (
        `no KVM device at ${detail ?? '/dev/kvm'}: this machine offers no KVM. Use a host with ` +
        'VT-x/AMD-V and the kvm_intel or kvm_amd module loaded, or a VM with nested ' +
        'virtualization turned on'
      )
    if (code === 'EACCES' || code === 'EPERM')
      return `no permission to open ${detail ?? '/dev/kvm'}: run as root or join the kvm group`
    if (code === 'ENXIO' || code === 'ENODEV')
      return 'the KVM device exists but no KVM module is loaded (kvm_intel / kvm_amd)'
  }
  if (syscall === 'KVM_GET_API_VERSION' && code === 'ENOTTY') return 'the file is not a KVM device'
  if (code === 'EBADF' && detail?.endsWith('closed')) return `${detail}: it cannot be used any more`
  if (syscall === 'KVM_SET_GSI_ROUTING' && code === 'EINVAL')
    return (
      'the kernel rejected the routing table (bad type, flags, irqchip pin, GSI, or a XEN_EVTCHN ' +
      'priority other than KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL); the old table stays active'
    )
  if (syscall === 'KVM_SET_USER_MEMORY_REGION' && code === 'EEXIST')
    return 'the slot is in use or the range overlaps another region'
  if (syscall === 'KVM_CREATE_VCPU' && code === 'EEXIST') return 'a vCPU with that id exists'
  if (code === 'EFBIG')
    return 'one region is one ArrayBuffer: keep regions within buffer.constants.MAX_LENGTH'
  return undefined
}

/**
 * A failed KVM ioctl or syscall, or an argument refused before the ioctl.
 *
 * Like Node's own errors, `errno` is the NEGATIVE errno number (-22) and `code` its name
 * ('EINVAL'). `syscall` is the ioctl's name ('KVM_SET_GSI_ROUTING') or the syscall ('open',
 * 'mmap'), `hint` a suggestion for the common causes (no /dev/kvm, no permission, a capability
 * the kernel lacks, a closed object).
 */
export class KvmError extends Error {
  /** The errno name, e.g. 'ENOENT'. */
  readonly code: string
  /** The negative errno number, as in Node's errors (-2 for ENOENT). */
  readonly errno: number
  /** The ioctl (e.g. 'KVM_SET_GSI_ROUTING') or syscall (e.g. 'open') that failed. */
  readonly syscall: string
  /** What kvm-sys knew when it failed (a path, 'vm closed', ...), if anything. */
  readonly detail: string | undefined
  /** What to do about it, for the common cases. */
  hint: string | undefined

  /**
   * Builds the error for `errno` (either sign: the kernel's 22 or Node's -22; stored negative)
   * from `syscall`; the hint defaults from the pair.
   */
  constructor(errno: number, syscall: string, detail?: string, hint?: string) {
    const code = errnoName(errno)
    super(`${syscall}: ${code} (${errnoMessage(errno)})${detail ? `: ${detail}` : ''}`)
    this.name = 'KvmError'
    this.code = code
    this.errno = -Math.abs(errno)
    this.syscall = syscall
    this.detail = detail
    this.hint = hint ?? defaultHint(code, syscall, detail)
    if (this.hint) this.message += `. Hint: ${this.hint}`
  }

  /** Replaces the hint (and the message's hint part). */
  withHint(hint: string): this {
    const base = this.hint ? this.message.slice(0, this.message.indexOf('. Hint: ')) : this.message
    this.hint = hint
    this.message = `${base}. Hint: ${hint}`
    return this
  }
}

/** True for a KvmError (also across realms, where instanceof fails). */
export function isKvmError(e: unknown): e is KvmError {
  return e instanceof KvmError || (e instanceof Error && e.name === 'KvmError' && 'errno' in e)
}
