// When an ioctl fails because the kernel lacks the capability behind it, say so in the hint.
// Checked only after a failure, so the success path costs nothing.
import { Cap, type CapName, KVM_XEN_HVM_CONFIG_FLAGS } from './abi.js'
import { KvmError } from './errors.js'

/** What an ioctl needs: a KVM_CAP_* and, for KVM_CAP_XEN_HVM, feature bits of its bitmap. */
export interface CapabilityNeed {
  /** The capability number KVM_CHECK_EXTENSION is asked about. */
  cap: number
  /** How the hint names it (`KVM_CAP_XEN_HVM`). */
  name: string
  /** For KVM_CAP_XEN_HVM: the KVM_XEN_HVM_CONFIG_* bits the ioctl needs. */
  feature?: number
}

/** The need for capability `name` (a key of Cap, so a typo does not compile). */
export function capNeed(name: CapName, feature?: number): CapabilityNeed {
  return { cap: Cap[name], name: `KVM_CAP_${name}`, ...(feature !== undefined && { feature }) }
}

function featureNames(bits: number): string {
  const names = Object.entries(KVM_XEN_HVM_CONFIG_FLAGS)
    .filter(([, v]) => (bits & v) !== 0)
    .map(([name]) => `KVM_XEN_HVM_CONFIG_${name}`)
  const known = Object.values(KVM_XEN_HVM_CONFIG_FLAGS).reduce((a, b) => a | b, 0)
  if ((bits & ~known) !== 0) names.push(`bits 0x${(bits & ~known).toString(16)}`)
  return names.join(', ')
}

/**
 * Runs `fn`; if it throws a KvmError and `check(need.cap)` shows the capability (or its
 * feature bit) missing, rethrows it with a hint naming the capability.
 */
export function withCapability<T>(
  need: CapabilityNeed,
  check: (cap: number) => number,
  fn: () => T,
): T {
  try {
    return fn()
  } catch (e) {
    if (e instanceof KvmError && e.code !== 'EBADF') {
      let have = -1
      try {
        have = check(need.cap)
      } catch {
        // no way to ask: leave the hint alone
      }
      if (have === 0) e.withHint(`the kernel lacks ${need.name} (KVM_CHECK_EXTENSION returned 0)`)
      else if (need.feature !== undefined && have > 0 && (need.feature & ~have) !== 0)
        e.withHint(`the kernel's ${need.name} lacks ${featureNames(need.feature & ~have)}`)
    }
    throw e
  }
}
